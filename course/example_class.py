"""A class of example students, to see the whole grading path: ``make example-class``.

    python -m course.example_class            # writes submitted/<student>/<assignment>/
    python -m course.example_class --bad      # and one student per kind of bad submission

Every student is made from the notebooks themselves, so the class always fits the
current ``source/``:

- ``ada`` answers everything as the solutions do; ``ben`` makes one plausible mistake
  per notebook (from ``tests/mistakes/``); ``cai`` submits the untouched notebooks;
  ``dev`` renamed one notebook, broke another, skipped a third and crashed a fourth.
- ``--bad`` adds, for the first notebook, one student per entry of :data:`BAD`: the
  submissions that try to break grading (``tests/test_grade.py`` grades them all).
"""
from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path

import nbformat

from . import ROOT
from .build import assignments
from .grading import fill_solutions, grade_id, replace_answer


def exercise_cells(nb) -> list[str]:
    """The grade ids of the notebook's exercise cells, in order."""
    return [grade_id(c) for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


def check_cells(nb) -> list[str]:
    return [grade_id(c) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


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
    return subs


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


def make_class(root: Path = ROOT, bad: bool = False) -> list[str]:
    """Write the example class into ``root/submitted``; return the students."""
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
        for student, content in work.items():
            if content != "skip":
                write_submission(root, student, assignment, content)
                students.add(student)
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
