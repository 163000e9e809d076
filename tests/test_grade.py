"""The instructor's path, ``course/grade.py``, on a class that tries to break grading.

One run grades, next to correct and partly correct students, one submission of every
kind in ``course.example_class.bad_submissions`` (plus one that calls the library's
answer) and, where bubblewrap can make a sandbox, one of every kind in
``course.example_class.attacks``: each gets a deterministic score, a status and a reason;
the others' grades, feedback and files are what they are when graded alone; no attack
gets through, and each attacker's feedback shows its attempts failing; feedback hides the
hidden tests; a late submission is graded on its own. The class is graded with figures as
text (``figures=False``: the same scores, half the kernel time); two workers grading two
notebooks grade with pictures, as ``make grade`` does by default.
"""
import html
import io
import os
import re
import runpy
import shutil
import socket
import subprocess
import sys
import threading

import nbformat
import pytest

from course import ROOT
from course.build import assignments
from course.example_class import (BACKGROUND_MARK, attacks, check_cells, checks_of_exercises, make_class, notebooks,
                                  warning_exercises, write_submission)
from course.export import export_csv
from course.grade import FAILED, GRADED, fingerprint, grade, summary
from course.grading import cell_scores, grade_id, replace_answer
from course.sandbox import unavailable
from procs import cell_timeout, sleeping

ASSIGNMENT = assignments()[0]
SANDBOXED = unavailable() is None
SECRET = "gradebook-password-4e1d"  # in the grader's environment, standing in for a password
ATTACKS = sorted(f"attack_{kind}" for kind in attacks(ROOT, ASSIGNMENT)) if SANDBOXED else []
CONNECTIONS = []  # accepted by the server the network attack tries to reach
needs_sandbox = pytest.mark.skipif(not SANDBOXED, reason=f"no bubblewrap sandbox here: {unavailable()}")


def _points(nb):
    return [c.metadata["nbgrader"]["points"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _course(root):
    """A course directory holding only the first assignment, with its student version."""
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for folder in ("course", f"source/{ASSIGNMENT}", f"notebooks/{ASSIGNMENT}", "tests/mistakes"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _grade(root, figures=False, **kwargs):
    """``course.grade.grade`` as ``make grade`` runs it; figures as text unless ``figures`` (they
    cost half of 00's kernel time; :func:`test_parallel_workers_grade_one_students_notebooks_at_once`
    grades with pictures and checks them in the feedback)."""
    log = io.StringIO()
    records = grade(root, timeout=cell_timeout(), notebook_timeout=120, jobs=2, out=log, sandbox=SANDBOXED,
                    figures=figures, **kwargs)
    return records, log.getvalue()


class Listener:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, peer = self.server.accept()
            except OSError:
                return
            self.accepted.append(peer)
            conn.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = _course(tmp_path_factory.mktemp("class"))
    listener = Listener()
    make_class(root, bad=True, port=listener.port)
    mistakes = runpy.run_path(str(ROOT / "tests" / "mistakes" / f"{ASSIGNMENT}.py"))["MISTAKES"]
    library = next(m for name, m in mistakes.items() if "library" in name)
    blank, solved = notebooks(root, ASSIGNMENT)
    write_submission(root, "bad_calls_library", ASSIGNMENT, replace_answer(solved, library["cell"], library["source"]))
    os.environ["COURSE_DB_PASSWORD"] = SECRET
    try:
        records, log = _grade(root)
    finally:
        del os.environ["COURSE_DB_PASSWORD"]
    listener.server.close()
    CONNECTIONS.extend(listener.accepted)
    rows = {r["student_id"]: r for r in export_csv(root, root / "grades.csv")}
    return root, rows, log, blank


def _expected(blank):
    """``{student: (score, status, words in the reason)}``, from the notebook's test points."""
    p = _points(blank)
    full = sum(p)
    return {
        "ada": (full, GRADED, ""),
        "cai": (0, GRADED, ""),
        "dev": (full, GRADED, "submitted as renamed.ipynb"),
        "bad_infinite_loop": (full - p[0], GRADED, "ran past the time limit"),
        "bad_sleeps_past_limit": (full - p[-1], GRADED, "ran past the time limit"),
        "bad_ignores_interrupt": (p[0] + p[1], GRADED, "did not stop when interrupted"),
        "bad_kills_kernel": (p[0], GRADED, "the kernel died"),
        "bad_exhausts_memory": (full - p[3], GRADED, "ran out of memory"),
        "bad_deleted_test_cell": (full, GRADED, "was missing: the grader put the original back"),
        "bad_edited_test_cell": (full, GRADED, "was edited: the grader ran the original"),
        "bad_split_cell": (full, GRADED, "appears 2 times"),
        "bad_patches_numpy": (0, GRADED, "replaced numpy.allclose"),
        "bad_patches_checks": (0, GRADED, "check_close"),
        "bad_calls_library": (full - p[0], GRADED, ""),
        "bad_prints_50mb": (full, GRADED, ""),
        "bad_stored_50mb_output": (full, GRADED, "the grader cleared them"),
        "bad_out_of_order": (full - p[0], GRADED, "run out of order"),
        "bad_changed_metadata": (full, GRADED, "had been changed: the grader restored it"),
        "bad_unmarked_test_cell": (full, GRADED, "took it as an ordinary cell"),
        "bad_renamed": (full, GRADED, "submitted as my_answers.ipynb"),
        "bad_missing": (0, FAILED, "there is no"),
        "bad_empty_file": (0, FAILED, "empty file"),
        "bad_invalid_json": (0, FAILED, "not valid JSON"),
        "bad_newer_minor_format": (full, GRADED, "format 4.99"),
        "bad_newer_major_format": (0, FAILED, "Unsupported nbformat version 5"),
        "bad_malformed_cell": (0, FAILED, "nbgrader could not grade it"),
        "bad_invalid_cell_id": (full, GRADED, "were not valid notebook cell ids"),
        # A warning is not a failure: right answers that warn get full marks, wrong ones do not.
        "bad_warns": (full, GRADED, ""),  # each kind of WARNINGS in one exercise's answer
        "bad_wrong_and_warns": (full - p[0], GRADED, ""),
        **({f"attack_{kind}": (full, GRADED, "") for kind in attacks(ROOT, ASSIGNMENT)} if SANDBOXED else {}),
        **({"attack_fork_bomb": (0, GRADED, "did not stop when interrupted"),
            "attack_symlinks": (full, GRADED, "symbolic links (course, gradebook.db, passwd)")} if SANDBOXED else {}),
    }


def test_every_student_is_graded_in_one_run(graded):
    root, rows, log, blank = graded
    assert set(_expected(blank)) <= set(rows), f"not in grades.csv: {set(_expected(blank)) - set(rows)}\n{log}"


@pytest.mark.parametrize("student", sorted(_expected(notebooks(ROOT, ASSIGNMENT)[0])))
def test_score_status_and_reason(graded, student):
    root, rows, log, blank = graded
    score, status, words = _expected(blank)[student]
    row = rows[student]
    assert (float(row["score"]), row["status"]) == (score, status), f"{student}: {row}\n{log}"
    assert words in row["reason"], f"{student}: the reason {row['reason']!r} does not say {words!r}"


def test_partly_correct_student_loses_points(graded):
    root, rows, log, blank = graded
    assert 0 < float(rows["ben"]["score"]) < sum(_points(blank)), rows["ben"]


def _made_for(root, student):
    """What grading made for ``student``: the feedback page, and the autograded notebook without
    the times at which its cells ran."""
    path = f"autograded/{student}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    nb = nbformat.read(root / path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    feedback = f"feedback/{student}/{ASSIGNMENT}/{ASSIGNMENT}.html"
    return {path: nbformat.writes(nb).encode(), feedback: (root / feedback).read_bytes()}


def test_others_grade_as_when_graded_alone(graded, tmp_path):
    """Byte for byte: grades, feedback and files, with every attack graded beside them."""
    root, rows, log, blank = graded
    alone = _course(tmp_path)
    for student in ("ada", "ben", "cai"):
        shutil.copytree(root / "submitted" / student, alone / "submitted" / student)
    _grade(alone)
    for student in ("ada", "ben", "cai"):
        assert cell_scores(alone, ASSIGNMENT, student) == cell_scores(root, ASSIGNMENT, student), student
        assert fingerprint(alone / "submitted" / student) == fingerprint(root / "submitted" / student), student
        made, made_alone = _made_for(root, student), _made_for(alone, student)
        differ = [name for name in made if made[name] != made_alone[name]]
        assert not differ, f"{student}'s {differ} differ from those made when graded alone"


def _printed(root, student):
    """Everything the student's autograded notebook printed."""
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def _attempts(root, kind):
    """``{what: line}`` of the attempts an attack printed ("<what>: blocked (...)")."""
    found = re.findall(r"^(\S.*?): (?:blocked|DONE) \(.*$", _printed(root, f"attack_{kind}"), re.M)
    lines = re.findall(r"^\S.*?: (?:blocked|DONE) \(.*$", _printed(root, f"attack_{kind}"), re.M)
    return dict(zip(found, lines))


@needs_sandbox
@pytest.mark.parametrize("kind", ["gradebook", "hidden_tests", "other_students", "network", "kills_processes",
                                  "fills_disk", "symlinks"])
def test_every_attempt_is_blocked_and_shown_in_the_feedback(graded, kind):
    root = graded[0]
    attempts = _attempts(root, kind)
    assert attempts, f"attack_{kind} printed no attempt:\n{_printed(root, f'attack_{kind}')}"
    through = [line for line in attempts.values() if ": blocked (" not in line]
    assert not through, f"attack_{kind} got through: {through}"
    feedback = _feedback_text(root, f"attack_{kind}")
    assert all(line in feedback for line in attempts.values()), f"attack_{kind}'s feedback does not show its attempts"


@needs_sandbox
def test_attacks_change_nothing_outside_their_sandbox(graded):
    root = graded[0]
    assert CONNECTIONS == [], f"a submission reached the host's 127.0.0.1: {CONNECTIONS}"
    written = [p for folder in (root, os.path.expanduser("~"), "/tmp")
               if os.path.exists(p := os.path.join(folder, "written-by-a-submission.txt"))]
    assert not written, f"a submission wrote {written}"
    hidden = _hidden_lines()
    for student in ATTACKS:
        printed = _printed(root, student)
        assert SECRET not in printed, f"{student} printed the grader's secret"
        shown = [ln for ln in hidden if ln in _feedback_text(root, student)]
        assert not shown, f"{student}'s feedback shows hidden tests: {shown[:3]}"
    assert "def correlate1d_valid" in _printed(root, "attack_hidden_tests"), "the history attack printed nothing"
    fills = _attempts(root, "fills_disk").values()
    assert all("No space left on device" in line and int(line.split(" after ")[1].split()[0]) <= 256
               for line in fills), fills
    assert not sleeping(BACKGROUND_MARK), "a process started by a submission outlived its grading"
    assert (root / "gradebook.db").exists()


def _feedback_text(root, student):
    page = (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _hidden_lines():
    """The lines of the assignment's hidden tests long enough to be telling."""
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    tests = [c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")]
    return [ln.strip() for t in tests if "### BEGIN HIDDEN TESTS" in t
            for ln in t.split("### BEGIN HIDDEN TESTS")[1].split("\n")[1:-1] if len(ln.strip()) > 20]


def test_feedback_hides_hidden_tests_but_shows_visible_checks(graded):
    root, rows, log, blank = graded
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    tests = [c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")]
    hidden = _hidden_lines()
    visible = [t.split("\n")[0] for t in tests]  # the docstrings
    for student in ("ada", "cai", "bad_kills_kernel"):
        text = _feedback_text(root, student)
        assert all(v in text for v in visible), f"{student}: the visible checks are missing from the feedback"
        shown = [ln for ln in hidden if ln in text]
        assert not shown, f"{student}'s feedback shows hidden test code: {shown[:3]}"
        assert "__grader_verify__" not in text


def test_feedback_says_what_failed_and_why(graded):
    root, rows, log, blank = graded
    assert "expected shape" in _feedback_text(root, "ben") or "differs from the expected" in _feedback_text(root, "ben")
    assert "NotImplementedError" in _feedback_text(root, "cai")
    assert "the kernel died while this cell ran" in _feedback_text(root, "bad_kills_kernel")
    assert "could not be graded: 00_convolution.ipynb is not valid JSON" in _feedback_text(root, "bad_invalid_json")
    assert "the notebook was submitted as my_answers.ipynb" in _feedback_text(root, "bad_renamed")
    assert "replaced numpy.allclose" in _feedback_text(root, "bad_patches_numpy")
    size = (root / "feedback" / "bad_prints_50mb" / ASSIGNMENT / f"{ASSIGNMENT}.html").stat().st_size
    assert size < 2_000_000, f"a 50 MB print made {size:,} bytes of feedback"


def test_feedback_is_one_file_that_loads_nothing(graded):
    """One self-contained file: nothing loaded but data: URLs, math as MathML (which browsers
    draw), not TeX for a MathJax from a CDN."""
    _check_self_contained(graded[0], f"*/{ASSIGNMENT}/*.html")


def _check_self_contained(root, pattern):
    pages = sorted((root / "feedback").glob(pattern))
    assert pages, "no feedback was written"
    for page in pages:
        text = page.read_text()
        loads = [url for url in re.findall(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=[\"']?([^\"' >]+)", text)
                 if not url.startswith("data:")]
        assert not loads, f"{page.relative_to(root)} loads {loads}"
        assert "<math" in text and "MathJax" not in text, f"{page.relative_to(root)}: math not as MathML"


#: What each kind of course.example_class.WARNINGS writes to stderr.
WRITES = {"matplotlib": "No artists with labels found", "runtime": "divide by zero", "user": "a note to myself",
          "deprecation": "old name", "stderr": "working..."}


def test_right_answers_that_warn_earn_full_marks_whatever_they_write(graded):
    """Each kind of warning, or a print to stderr, in its own exercise: none costs a point."""
    root, rows, log, blank = graded
    scores = cell_scores(root, ASSIGNMENT, "bad_warns")
    nb = nbformat.read(root / "autograded" / "bad_warns" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    written = {grade_id(c): "".join(o.get("data", {}).get("text/plain", "") for o in c.outputs)
               for c in nb.cells if c.cell_type == "code"}  # stderr, as warning_output shows it
    checks = checks_of_exercises(blank)
    for kind, gid in warning_exercises(blank).items():
        assert any(WRITES[kind] in written[g] for g in checks[gid]), f"{gid}'s checks show no {kind} warning"
        lost = {g: scores[g] for g in checks[gid] if scores[g][0] != scores[g][1]}
        assert not lost, f"{gid}, a right answer that writes a {kind} warning, lost points: {lost}"


def test_warnings_show_as_warnings_in_the_feedback(graded):
    root = graded[0]
    text = _feedback_text(root, "bad_warns")
    assert "Warning (it costs no points" in text and "divide by zero" in text, text[-2000:]
    assert "AssertionError" in _feedback_text(root, "bad_wrong_and_warns")


def test_submitted_files_are_not_changed(graded):
    root, rows, log, blank = graded
    assert (root / "submitted" / "bad_invalid_json" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").stat().st_size == 5000
    assert (root / "submitted" / "bad_renamed" / ASSIGNMENT / "my_answers.ipynb").exists()


def test_summary_marks_what_needs_a_look(graded):
    root, rows, log, blank = graded
    table = summary(list(rows.values()))
    full = sum(_points(blank))
    assert re.search(rf"^ada\s+{full:g}/{full:g}$", table, re.M), table
    assert re.search(rf"^bad_empty_file\s+0/{full:g} !$", table, re.M), table
    assert "bad_empty_file / 00_convolution: could not be graded: 00_convolution.ipynb is an empty file" in table
    assert re.search(r"^\[\s*\d+/\d+\] 00_convolution\s+ada ", log, re.M), f"no progress line for ada:\n{log}"


def test_a_late_submission_is_graded_alone_and_the_rest_kept(graded):
    """... with the one that nbgrader could not grade, which is tried again."""
    root, rows, log, blank = graded
    retried = ["bad_malformed_cell"]
    kept = [s for s in rows if s not in retried]
    before = {s: (root / "autograded" / s / ASSIGNMENT / "grading.json").stat().st_mtime_ns for s in kept}
    shutil.copytree(root / "submitted" / "ada", root / "submitted" / "late_lee")
    records, log = _grade(root)
    assert sorted(r["student"] for r in records) == sorted(["late_lee", *retried]), log
    after = {s: (root / "autograded" / s / ASSIGNMENT / "grading.json").stat().st_mtime_ns for s in kept}
    assert after == before, "re-grading touched submissions that had not changed"
    again = {r["student_id"]: r for r in export_csv(root, root / "grades.csv")}
    assert again.pop("late_lee")["score"] == rows["ada"]["score"]
    assert again == rows


def test_nbgrader_export_has_the_status_column(graded):
    root, rows, log, blank = graded
    out = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to=export.csv",
                          f"--CourseDirectory.root={root}"], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = (root / "export.csv").read_text()
    assert text.startswith("assignment,") and ",status,reason" in text.split("\n")[0]
    assert "could not be graded" in text


def test_untouched_student_version_fails_every_test(graded):
    """The blank student version graded as a could-not-be-graded placeholder scores 0 everywhere."""
    root, rows, log, blank = graded
    scores = cell_scores(root, ASSIGNMENT, "bad_empty_file")
    assert set(scores) == set(check_cells(blank)) and all(s == 0 for s, _ in scores.values()), scores


def test_parallel_workers_grade_one_students_notebooks_at_once(tmp_path):
    """Two workers grading two notebooks of the same students: every grade stored, none failed
    (nbgrader creates a student with a find-then-insert that two processes would race on)."""
    root = _course(tmp_path)
    names = assignments()[:2]
    for name in names[1:]:
        for folder in (f"source/{name}", f"notebooks/{name}"):
            shutil.copytree(ROOT / folder, root / folder)
    for name in names:
        solved = notebooks(root, name)[1]
        for student in ("ada", "ben"):  # in this order the two workers start with ada's two notebooks
            write_submission(root, student, name, solved)
    records, log = _grade(root, figures=True)  # as make grade does by default
    assert len(records) == 4 and all(r["status"] == GRADED and r["score"] == r["max_score"] for r in records), log
    for name in names:
        page = (root / "feedback" / "ada" / name / f"{name}.html").read_text()
        assert re.search(r'<img [^>]*src="data:image/png', page), f"ada's figures are not in her {name} feedback"
        assert all(" alt=" in tag for tag in re.findall(r"<img\b[^>]*>", page)), f"a picture in {name} has no alt text"
    _check_self_contained(root, "*/*/*.html")  # with the pictures in it
