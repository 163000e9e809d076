"""A class of example students, to see the whole grading path: ``make example-class``.

    python -m course.example_class            # writes submitted/<student>/<assignment>/
    python -m course.example_class --bad      # and one student per kind of bad submission

Every student is made from the notebooks themselves, so the class always fits the
current ``source/``:

- ``ada`` answers everything as the solutions do; ``ben`` makes one plausible mistake
  per notebook (from ``tests/mistakes/``); ``cai`` submits the untouched notebooks;
  ``dev`` renamed one notebook, broke another, skipped a third and crashed a fourth.
- ``--bad`` adds, for the first notebook, one student per entry of
  :func:`bad_submissions`, the submissions that try to break grading, and one per entry
  of :func:`attacks`, the submissions that try to reach beyond their own notebook: the
  gradebook, the hidden tests, other students' files, the network, the grader itself
  (``tests/test_grade.py`` grades them all).
"""
from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
from pathlib import Path

import nbformat

from . import ROOT
from .build import assignments
from .grading import fill_solutions, grade_id, replace_answer
from .sandbox import unavailable


def exercise_cells(nb) -> list[str]:
    """The grade ids of the notebook's exercise cells, in order."""
    return [grade_id(c) for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


def check_cells(nb) -> list[str]:
    return [grade_id(c) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def checks_of_exercises(nb) -> dict[str, list[str]]:
    """``{exercise: [its check cells]}``: the graded cells between it and the next exercise."""
    own, current = {}, None
    for cell in nb.cells:
        info = cell.metadata.get("nbgrader", {})
        if info.get("solution"):
            current = own.setdefault(info["grade_id"], [])
        elif info.get("grade") and current is not None:
            current.append(info["grade_id"])
    return own


def _cell(nb, gid):
    return next(c for c in nb.cells if grade_id(c) == gid)


def _append(solved, gid, code):
    """``solved`` with ``code`` run after the answer of exercise ``gid``."""
    return replace_answer(solved, gid, _cell(solved, gid).source + "\n\n" + code)


def _prepend(solved, gid, code):
    """``solved`` with ``code`` run before the answer of exercise ``gid`` is defined."""
    return replace_answer(solved, gid, code + "\n\n" + _cell(solved, gid).source)


def _without(solved, gid):
    nb = nbformat.from_dict(solved)
    nb.cells = [c for c in nb.cells if grade_id(c) != gid]
    return nb


def _edited(solved, gid):
    nb = nbformat.from_dict(solved)
    _cell(nb, gid).source = "pass  # the test, emptied"
    return nb


def _split(solved, gid):
    nb = nbformat.from_dict(solved)
    i = next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)
    half = nbformat.from_dict(nb.cells[i])
    half.id += "-split"
    nb.cells.insert(i + 1, half)  # JupyterLab's "split cell" copies the metadata
    return nb


def _wrong(solved, gid, extra=""):
    """Exercise ``gid`` answered by a stub that returns 0, after ``extra``."""
    header = _cell(solved, gid).source.split('"""')[0]  # the def line and the indent
    return replace_answer(solved, gid, f"{extra}\n{header}return 0\n")


def _warns(solved, codes: dict[str, list[str]], wrong=False):
    """``solved`` with each exercise of ``codes`` (``{grade id: lines}``) answered correctly (or,
    if ``wrong``, by a stub returning 0) but running its lines, which write to stderr, each time
    it is called: nbgrader would score the test cells 0 for that."""
    for gid, lines in codes.items():
        code = "\n    ".join(lines)
        body = _cell(solved, gid).source.replace('"""\n', f'"""\n    {code}\n', 1)
        if wrong:
            body = body.split('"""')[0] + f"{code}\n    return 0\n"
        solved = replace_answer(solved, gid, 'import sys, warnings\nwarnings.simplefilter("always")\n' + body)
    return solved


#: ``{kind: code}``: what a right answer may write to stderr as it runs, none of which may cost
#: points. :func:`bad_submissions` puts them into one notebook, one kind per exercise.
WARNINGS = {
    "matplotlib": ("import matplotlib.pyplot as plt; plt.figure(); plt.legend(); plt.close()"
                   "  # 'No artists with labels found'"),
    "runtime": "np.float64(1.0) / np.zeros(1)  # RuntimeWarning: divide by zero",
    "user": 'warnings.warn("a note to myself", UserWarning)',
    "deprecation": 'warnings.warn("old name", DeprecationWarning)',
    "stderr": 'print("working...", file=sys.stderr)',
}


def warning_exercises(blank) -> dict[str, str]:
    """``{kind of WARNINGS: the exercise whose answer writes it}`` in the "warns" submission:
    one kind per exercise, from the first (two in one where there are fewer exercises than kinds)."""
    ex = exercise_cells(blank)
    return {kind: ex[i % len(ex)] for i, kind in enumerate(WARNINGS)}


def _out_of_order(solved, gid):
    """The answer calls a helper that a cell further down defines; the stored outputs,
    from cells run in another order, claim success."""
    nb = nbformat.from_dict(solved)
    cell = _cell(nb, gid)
    helper = cell.source.replace(f"def {gid}(", "def _helper(", 1)  # grade_id = the function's name
    cell.source = f"def {gid}(*args):\n    return _helper(*args)  # defined further down"
    nb.cells.insert(nb.cells.index(cell) + 2, nbformat.v4.new_code_cell(helper, id="student-helper"))
    code = [c for c in nb.cells if c.cell_type == "code"]
    for n, c in enumerate(code):
        c.execution_count = len(code) - n
        c.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok\n")]
    return nb


def _stored_output(solved, size):
    nb = nbformat.from_dict(solved)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * size)]
    return nb


def _metadata(solved, gid, **changes):
    """``solved`` with the grading metadata of cell ``gid`` changed (a key given None is removed),
    as the "Create Assignment" panel of a student's JupyterLab can change it."""
    nb = nbformat.from_dict(solved)  # a copy
    info = _cell(nb, gid).metadata.nbgrader
    for key, value in changes.items():
        if value is None:
            del info[key]
        else:
            info[key] = value
    return nb


def _json(nb, **changes) -> bytes:
    data = json.loads(nbformat.writes(nb))
    data.update(changes)
    return json.dumps(data).encode()


def _raw_cells(nb, **changes) -> bytes:
    """``nb`` as JSON with cell i's ``key`` set to ``changes[key](i)`` (None: left as it is),
    in ways nbformat would not write itself."""
    data = json.loads(nbformat.writes(nb))
    for i, cell in enumerate(data["cells"]):
        cell.update({key: v for key, value in changes.items() if (v := value(i)) is not None})
    return json.dumps(data).encode()


def bad_submissions(solved, blank) -> dict:
    """``{kind: content}`` for :func:`write_submission`: one submission of a notebook per way
    to break grading. Needs at least four exercises."""
    ex, tests = exercise_cells(blank), check_cells(blank)
    notebooks = {
        "infinite_loop": replace_answer(solved, ex[0], _cell(solved, ex[0]).source.replace(
            '"""\n', '"""\n    while True:\n        pass\n', 1)),
        "sleeps_past_limit": _prepend(solved, ex[-1], "import time\ntime.sleep(10_000)"),
        "ignores_interrupt": _prepend(solved, ex[2], "import signal\nsignal.signal(signal.SIGINT, "
                                      "signal.SIG_IGN)\nwhile True:\n    pass"),
        "kills_kernel": _prepend(solved, ex[1], "import os\nos._exit(1)"),
        "exhausts_memory": _prepend(solved, ex[3], "_big = np.ones((50_000, 50_000))  # 20 GB"),
        "deleted_test_cell": _without(solved, tests[0]),
        "edited_test_cell": _edited(solved, tests[0]),
        "split_cell": _split(solved, ex[0]),
        "patches_numpy": _wrong(solved, ex[0], "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                "np.testing.assert_allclose = lambda *a, **k: None"),
        "patches_checks": _wrong(solved, ex[0], "import cnnlib.testing\ncheck_close = check_shape = "
                                 "cnnlib.testing.check_close = lambda *a, **k: None"),
        "prints_50mb": _append(solved, ex[0], "print('x' * 50_000_000)"),
        "stored_50mb_output": _stored_output(solved, 50_000_000),
        "out_of_order": _out_of_order(solved, ex[0]),
        "changed_metadata": _metadata(solved, tests[0], points="lots", schema_version=99),
        "unmarked_test_cell": _metadata(solved, tests[1], grade_id=None),
    }
    subs = dict(notebooks)
    text = nbformat.writes(solved).encode()
    subs.update({
        "renamed": ("my_answers.ipynb", text),
        "missing": None,
        "empty_file": (None, b""),
        "invalid_json": (None, text[:5000]),
        "newer_minor_format": (None, _json(solved, nbformat_minor=99)),
        "newer_major_format": (None, _json(solved, nbformat=5, nbformat_minor=0)),
        # nbformat reads a cell whose source is a number; nbgrader gives up on the notebook.
        "malformed_cell": (None, _raw_cells(solved, source=lambda i: 5 if i == 2 else None)),
        "invalid_cell_id": (None, _raw_cells(solved, id=lambda i: f"cell {i}!")),
    })
    # Right answers that warn, each kind in its own exercise (in one notebook: a kind that cost
    # points would cost its own exercise's), and a wrong answer that warns.
    codes = {}
    for kind, gid in warning_exercises(blank).items():
        codes.setdefault(gid, []).append(WARNINGS[kind])
    subs["warns"] = _warns(solved, codes)
    subs["wrong_and_warns"] = _warns(solved, {ex[0]: [WARNINGS["user"]]}, wrong=True)
    return subs


# Every attack reports each attempt on one line: "<what>: blocked (<error>)" or "<what>: DONE (...)".
ATTEMPT = '''
def _attempt(what, action):
    try:
        result = action()
    except BaseException as err:  # noqa: BLE001
        print(f"{what}: blocked ({type(err).__name__}: {str(err)[:120]})")
    else:
        print(f"{what}: DONE ({str(result)[:300]!r})")
'''
BACKGROUND_MARK = "987654321"  # the argument of the process an attack leaves running


def attacks(root: Path, assignment: str, port: int = 8888) -> dict[str, str]:
    """``{kind: code}``: code a submission runs first, to reach beyond its own notebook.

    Each attempt prints a line (see :data:`ATTEMPT`), so that its feedback shows what
    happened. ``root`` is the course directory, ``port`` a TCP port of the grader's host
    that must stay out of reach.
    """
    root, home = str(Path(root).resolve()), os.path.expanduser("~")
    other = f"{{root}}/{{{{step}}}}/ada/{assignment}/{assignment}.{{{{ext}}}}".format(root=root)
    code = {
        "gradebook": f'''import os, sqlite3
def _zero(path):
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    with sqlite3.connect(path) as con:
        return con.execute("UPDATE grade SET manual_score = 0").rowcount
_here, _paths = os.getcwd(), [{root!r} + "/gradebook.db"]
while _here != "/":
    _here = os.path.dirname(_here)
    _paths.append(os.path.join(_here, "gradebook.db"))
for _p in dict.fromkeys(_paths):
    _attempt(f"sqlite UPDATE {{_p}}", lambda: _zero(_p))
    _attempt(f"overwrite {{_p}}", lambda: open(_p, "r+b").write(b"0" * 100))
    _attempt(f"delete {{_p}}", lambda: os.remove(_p))''',
        "hidden_tests": f'''import glob, os
def _hidden():
    found = glob.glob({root!r} + "/source/*/*.ipynb") + glob.glob({root!r} + "/build/release/*/*.ipynb")
    for top, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in ("/proc", "/sys", "/dev", "/usr")]
        found += [os.path.join(top, f) for f in files if f == {assignment + ".ipynb"!r}]
    for path in found:
        text = open(path, errors="replace").read()
        if "### BEGIN " + "HIDDEN TESTS" in text:  # not the words of this very cell
            return path + ": " + text
    raise FileNotFoundError(f"none of {{len(found)}} notebooks holds hidden tests")
_attempt("read the hidden tests", _hidden)''',
        "other_students": f'''import os
for _step, _ext in [("submitted", "ipynb"), ("autograded", "ipynb"), ("feedback", "html")]:
    _p = {other!r}.format(step=_step, ext=_ext)
    _attempt(f"read {{_p}}", lambda: open(_p).read())
    _attempt(f"change {{_p}}", lambda: open(_p, "a").write("changed"))
    _attempt(f"delete {{_p}}", lambda: os.remove(_p))''',
        "writes_outside": f'''import os
for _folder in [{root!r}, {home!r}, "/tmp", os.path.dirname(os.getcwd())]:
    _p = os.path.join(_folder, "written-by-a-submission.txt")
    _attempt(f"write {{_p}}", lambda: open(_p, "w").write("a submission was here"))''',
        "network": f'''import socket
def _connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(b"a submission was here")
        return s.getpeername()
_attempt("connect to 127.0.0.1:{port}", lambda: _connect({port}))''',
        "fork_bomb": '''import os
while True:
    try:
        os.fork()
    except BaseException:  # noqa: BLE001 - not even an interrupt stops it
        pass''',
        "background_process": f'''import subprocess
_attempt("leave a process running", lambda: subprocess.Popen(
    ["sleep", "{BACKGROUND_MARK}"], start_new_session=True).pid)''',
        "kills_processes": '''import os, signal
_attempt(f"kill the parent {os.getppid()}", lambda: os.kill(os.getppid(), signal.SIGKILL))
for _pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if _pid not in (os.getpid(), os.getppid()):
        _attempt(f"kill {_pid}", lambda: os.kill(_pid, signal.SIGKILL))''',
        "fills_disk": '''import os
def _fill(path):
    written = 0
    with open(path, "wb") as fh:
        try:
            while written < 2048:  # MiB: more than the sandbox allows
                fh.write(b"0" * (1 << 20))
                written += 1
        except OSError as err:
            raise OSError(f"{err} after {written} MiB") from None
_attempt("fill the working folder", lambda: _fill("fill.bin"))
_attempt("fill /tmp", lambda: _fill("/tmp/fill.bin"))
for _p in ["fill.bin", "/tmp/fill.bin"]:
    os.remove(_p)''',
        "symlinks": '''import os
for _name in ["gradebook.db", "passwd", "course/gradebook.db"]:
    _attempt(f"read the link {_name}", lambda: open(_name, "rb").read(200))''',
        "environment": '''import os
print(sorted(os.environ))
for _p in ["/proc/self/environ", "/proc/1/environ", f"/proc/{os.getppid()}/environ"]:
    _attempt(f"read {_p}", lambda: open(_p, "rb").read().replace(b"\\0", b" ").decode())''',
    }
    return {kind: ATTEMPT + text for kind, text in code.items()}


def attack_links(root: Path) -> dict[str, str]:
    """The symbolic links the ``symlinks`` attack puts in its submission folder."""
    root = str(Path(root).resolve())
    return {"gradebook.db": f"{root}/gradebook.db", "passwd": "/etc/passwd", "course": root}


def notebooks(root: Path, assignment: str):
    """The (blank student version, solved) pair of an assignment, from ``notebooks/`` and ``source/``."""
    blank = nbformat.read(root / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    source = nbformat.read(root / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return blank, fill_solutions(blank, source)


def write_submission(root: Path, student: str, assignment: str, content) -> None:
    """Write one submission: a notebook, ``(file name or None, bytes)``, or ``None`` (no notebook)."""
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if content is None:
        (folder / "README.txt").write_text("I could not get it to work.\n")
        return
    if isinstance(content, tuple):
        fname, data = content
        (folder / (fname or f"{assignment}.ipynb")).write_bytes(data)
    else:
        nbformat.write(content, folder / f"{assignment}.ipynb")


def make_class(root: Path = ROOT, bad: bool = False, port: int = 8888) -> list[str]:
    """Write the example class into ``root/submitted``; return the students.

    ``port``: the TCP port on this host that the network attack tries to reach. The
    attacks (a fork bomb among them) are written only where grading has a sandbox.
    """
    with_attacks = bad and unavailable() is None
    if bad and not with_attacks:
        print(f"the attack submissions are left out: no grading sandbox here ({unavailable()})")
    names = assignments(root)
    students = set()
    for i, assignment in enumerate(names):
        blank, solved = notebooks(root, assignment)
        mistakes_file = root / "tests" / "mistakes" / f"{assignment}.py"
        mistakes = runpy.run_path(str(mistakes_file))["MISTAKES"] if mistakes_file.exists() else {}
        first = next(iter(mistakes.values()), None)
        work = {"ada": solved, "cai": blank}
        if first:
            work["ben"] = replace_answer(solved, first["cell"], first["source"])
        dev = [("renamed.ipynb", nbformat.writes(solved).encode()), (None, b'{"cells": [oops'),
               "skip", _prepend(solved, exercise_cells(blank)[0], "import os\nos._exit(0)")]
        work["dev"] = dev[i] if i < len(dev) else solved
        if bad and i == 0:
            work.update({f"bad_{kind}": sub for kind, sub in bad_submissions(solved, blank).items()})
            if with_attacks:
                first = exercise_cells(blank)[0]
                work.update({f"attack_{kind}": _prepend(solved, first, code)
                             for kind, code in attacks(root, assignment, port).items()})
                # ... and, once test cells have run, prints every cell the kernel ran.
                work["attack_hidden_tests"] = _prepend(work["attack_hidden_tests"], exercise_cells(blank)[-1],
                                                       'print("\\n".join(In))')
        for student, content in work.items():
            if content != "skip":
                write_submission(root, student, assignment, content)
                students.add(student)
        if bad and i == 0 and with_attacks:
            for name, target in attack_links(root).items():
                link = root / "submitted" / "attack_symlinks" / assignment / name
                link.unlink(missing_ok=True)
                link.symlink_to(target)
    return sorted(students)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bad", action="store_true", help="add one student per kind of bad submission")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    students = make_class(args.root, args.bad)
    print(f"wrote submitted/ for {len(students)} students: {', '.join(students)}\nnow run: make grade")
    return 0


if __name__ == "__main__":
    sys.exit(main())
