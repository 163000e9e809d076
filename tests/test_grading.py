"""Every notebook through real `nbgrader autograde` runs.

For each assignment: the solution earns full marks, the untouched student version earns
zero on every graded cell and raises in no other cell (a student stuck on one exercise can
read on: demos below an unsolved exercise use the library's version or print a one-line
"solve exercise N ... to see this"), each plausible mistake (``MISTAKES`` in tests/mistakes/) and
each shortcut through a library twin (``SHORTCUTS``) loses points in the cells it names,
and each correct answer written differently from the solution (``CORRECT``) earns full
marks. A wrong answer may name only its own exercise's test cells, and no other cell may
lose points: one mistake costs once. Manually graded answers (cells with both ``grade`` and
``solution``) are left out of those scores: the solution leaves them waiting for a grader,
the untouched version scores 0 in them. Submissions that try to break grading are in
tests/test_grade.py.

To keep the runs few, the answers are packed into "batch" notebooks holding at most one
answer per exercise (the solution everywhere else); this relies on, and checks, that an
answer changes the score of its own exercise only. To keep them short, they run with
``GradingExecute.figures`` off (figures as a line of text, none drawn; tests/test_grade.py
grades with pictures), all of an assignment's students in one course directory and one
``nbgrader autograde`` (one generation, one gradebook: ``make test`` keeps the other core busy
with other tests).
"""
import runpy
import shutil
from pathlib import Path

import nbformat
import pytest

from course import ROOT
from course.build import assignments
from course.example_class import checks_of_exercises
from course.grading import cell_scores, fill_solutions, nbgrader, replace_answer

ASSIGNMENTS = assignments()
KINDS = ("MISTAKES", "SHORTCUTS", "CORRECT")


def _answers(assignment):
    """``{"kind:name": entry}`` of tests/mistakes/<assignment>.py, kinds in :data:`KINDS` order."""
    path = ROOT / "tests" / "mistakes" / f"{assignment}.py"
    module = runpy.run_path(str(path)) if path.exists() else {}
    return {f"{kind.lower()}:{name}": dict(entry, kind=kind)
            for kind in KINDS for name, entry in module.get(kind, {}).items()}


ANSWERS = {a: _answers(a) for a in ASSIGNMENTS}


def _batches(assignment):
    """``[{cell: answer key}]``: the answers packed so that no batch answers a cell twice."""
    batches = []
    for key, entry in ANSWERS[assignment].items():
        free = next((b for b in batches if entry["cell"] not in b), None)
        if free is None:
            batches.append(free := {})
        free[entry["cell"]] = key
    return batches


BATCHES = {a: _batches(a) for a in ASSIGNMENTS}


def _batch_of(assignment, key):
    return next(f"batch{i}" for i, b in enumerate(BATCHES[assignment]) if key in b.values())


def _own_test_cells(assignment):
    """``{solution cell: [its test cells]}``: the graded cells between it and the next exercise."""
    return checks_of_exercises(nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4))


def _manual_cells(assignment):
    """grade_ids of the manually graded answers (``grade`` and ``solution`` both set)."""
    nb = nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("solution")}


MANUAL = {a: _manual_cells(a) for a in ASSIGNMENTS}


def _submissions(assignment, student_nb, source_nb):
    """``{student: notebook}``: the solution, the untouched student version and each batch."""
    solved = fill_solutions(student_nb, source_nb)
    subs = {"solution": solved, "untouched": student_nb}
    for i, batch in enumerate(BATCHES[assignment]):
        nb = solved
        for cell, key in batch.items():
            nb = replace_answer(nb, cell, ANSWERS[assignment][key]["source"])
        subs[f"batch{i}"] = nb
    return subs


def _grade(assignment, root, students):
    """Generate ``assignment`` in the course directory ``root`` and autograde ``students``."""
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course", root / "course", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "source" / assignment, root / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    result = nbgrader(root, "generate_assignment", assignment, "--force")
    assert result.returncode == 0, result.stderr
    student_nb = nbformat.read(root / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    source_nb = nbformat.read(root / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    for student, nb in _submissions(assignment, student_nb, source_nb).items():
        if student in students:
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{assignment}.ipynb")
    # Figures as text (no picture drawn: the scores are the same); one BLAS thread, as other
    # tests share the cores.
    return nbgrader(root, "autograde", assignment, "--force", "--GradingExecute.figures=False", threads=1)


class Graded:
    """Autograded course directories, one per assignment, made on first use."""

    def __init__(self, tmp_path_factory):
        self.tmp, self.done = tmp_path_factory, {}

    def scores(self, assignment, student, manual=False):
        """``{grade_id: (score, max)}`` of the autograded cells (``manual``: of the manual ones)."""
        if assignment not in self.done:
            students = ["solution", "untouched"] + [f"batch{i}" for i in range(len(BATCHES[assignment]))]
            root = self.tmp.mktemp(assignment)
            log = _grade(assignment, root, students)
            self.done[assignment] = dict.fromkeys(students, (root, log))
        root, log = self.done[assignment][student]
        try:
            scores = cell_scores(root, assignment, student)
        except Exception as err:  # noqa: BLE001 - show nbgrader's log, not a bare lookup error
            pytest.fail(f"{student} was not graded: {err}\n{log.stderr[-3000:]}")
        if manual:
            return {g: s for g, s in scores.items() if g in MANUAL[assignment]}
        scores = {g: s for g, s in scores.items() if g not in MANUAL[assignment]}
        # Every cell left is autograded: no score means nbgrader gave up on the notebook.
        ungraded = [g for g, (score, _) in scores.items() if score is None]
        if ungraded:
            pytest.fail(f"nbgrader did not grade {student}'s {assignment} (no score in {ungraded})\n"
                        f"{log.stderr[-3000:]}")
        return scores

    def autograded(self, assignment, student):
        """The notebook as ``nbgrader autograde`` ran it."""
        self.scores(assignment, student)
        root = self.done[assignment][student][0]
        return nbformat.read(root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)

    def log(self, assignment, student):
        return self.done[assignment][student][1].stderr[-3000:]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return Graded(tmp_path_factory)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_earns_full_marks(graded, assignment):
    scores = graded.scores(assignment, "solution")
    assert len(scores) >= 4, f"{assignment} has only {len(scores)} graded cells"
    lost = {g: s for g, s in scores.items() if s[0] != s[1]}
    assert not lost, f"the solution of {assignment} loses points in {lost}\n{graded.log(assignment, 'solution')}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_student_version_scores_zero_everywhere(graded, assignment):
    scores = graded.scores(assignment, "untouched")
    passing = [g for g, (score, _) in scores.items() if score != 0]
    assert not passing, f"these graded cells of {assignment} pass without an answer: {passing}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_only_check_cells_raise_in_untouched_student_notebook(graded, assignment):
    nb = graded.autograded(assignment, "untouched")
    unexpected = [
        f"cell {index}: {(cell.source.splitlines() or [''])[0]!r} -> "
        + "; ".join(f"{o.ename}: {o.evalue}".splitlines()[0][:200] for o in errors)
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade")
        and (errors := [o for o in cell.outputs if o.output_type == "error"])
    ]
    assert not unexpected, f"in the untouched {assignment}, cells other than check cells raise:\n" + "\n".join(unexpected)


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if MANUAL[a]])
def test_manual_answers_wait_for_a_grader(graded, assignment):
    solved = graded.scores(assignment, "solution", manual=True)
    untouched = graded.scores(assignment, "untouched", manual=True)
    assert set(solved) == set(untouched) == MANUAL[assignment], (solved, untouched)
    assert all(score is None for score, _ in solved.values()), f"a written answer is not left to a grader: {solved}"
    assert all(score == 0 for score, _ in untouched.values()), f"an unanswered manual cell earns points: {untouched}"


WRONG = [(a, k) for a in ASSIGNMENTS for k, e in ANSWERS[a].items() if e["kind"] != "CORRECT"]


@pytest.mark.parametrize("assignment,answer", WRONG)
def test_wrong_answer_names_only_its_own_test_cells(assignment, answer):
    entry = ANSWERS[assignment][answer]
    own = _own_test_cells(assignment)[entry["cell"]]
    assert entry["fails"], f"{answer} in {assignment} names no cell that must lose points"
    others = [g for g in entry["fails"] if g not in own]
    assert not others, (f"{answer} in {assignment} would cost points in {others}, outside its exercise "
                        f"{entry['cell']!r} (whose test cells are {own}): one mistake must cost once")


@pytest.mark.parametrize("assignment,answer", WRONG)
def test_wrong_answer_loses_points(graded, assignment, answer):
    scores = graded.scores(assignment, _batch_of(assignment, answer))
    entry = ANSWERS[assignment][answer]
    full = [g for g in entry["fails"] if scores[g][0] == scores[g][1]]
    what = "shortcut" if entry["kind"] == "SHORTCUTS" else "mistake"
    assert not full, f"{what} {answer!r} in {assignment} still earns full marks in {full}"


@pytest.mark.parametrize("assignment,answer",
                         [(a, k) for a in ASSIGNMENTS for k, e in ANSWERS[a].items() if e["kind"] == "CORRECT"])
def test_correct_answer_written_differently_earns_full_marks(graded, assignment, answer):
    scores = graded.scores(assignment, _batch_of(assignment, answer))
    own = _own_test_cells(assignment)[ANSWERS[assignment][answer]["cell"]]
    lost = {g: scores[g] for g in own if scores[g][0] != scores[g][1]}
    assert not lost, f"the correct answer {answer!r} in {assignment} loses points in {lost}"


@pytest.mark.parametrize("assignment,batch", [(a, i) for a in ASSIGNMENTS for i in range(len(BATCHES[a]))])
def test_answers_cost_points_only_in_their_own_cells(graded, assignment, batch):
    scores = graded.scores(assignment, f"batch{batch}")
    answers = BATCHES[assignment][batch].values()
    expected = {g for k in answers for g in ANSWERS[assignment][k].get("fails", [])}
    lost = {g for g, (score, top) in scores.items() if score != top}
    assert lost == expected, (
        f"batch{batch} of {assignment} ({', '.join(answers)}) should lose points in exactly {sorted(expected)}, "
        f"lost them in {sorted(lost)}: {sorted(lost - expected)} lost as collateral, "
        f"{sorted(expected - lost)} kept\n{graded.log(assignment, f'batch{batch}')}")


@pytest.mark.parametrize("assignment", ASSIGNMENTS[:1])
def test_figures_off_shows_each_figure_as_text(graded, assignment):
    """The runs above draw no picture: a figure shows as its line of text, and so does an
    animation (00 has two), none of whose frames is drawn."""
    nb = graded.autograded(assignment, "solution")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if "image/png" in o.get("data", {})]
    assert any("<Figure size" in o.get("data", {}).get("text/plain", "") for o in outputs)
    texts = [o.get("data", {}).get("text/plain", "") for o in outputs]
    assert sum("not drawn: figures are off>" in t for t in texts) == 2, texts
    assert not [o for o in outputs if "text/html" in o.get("data", {})]
