"""Helpers for putting notebooks through nbgrader: building submissions, reading grades."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from .build import clean_source
from .gradebook import db_url


def grade_id(cell) -> str | None:
    info = cell.metadata.get("nbgrader")
    return info.get("grade_id") if isinstance(info, dict) else None


def fill_solutions(student_nb, source_nb):
    """The student notebook with every solution cell answered as in ``source_nb``."""
    answers = {grade_id(c): clean_source(c.source) for c in source_nb.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.from_dict(student_nb)
    for cell in nb.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def replace_answer(nb, cell_id: str, source: str):
    """A copy of ``nb`` whose solution cell ``cell_id`` holds ``source``."""
    nb = nbformat.from_dict(nb)
    matches = [c for c in nb.cells if grade_id(c) == cell_id]
    if len(matches) != 1:
        raise KeyError(f"no single cell with grade_id {cell_id!r}")
    matches[0].source = source
    return nb


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def nbgrader(root: Path, *args: str, threads: int = 0) -> subprocess.CompletedProcess:
    """Run an nbgrader sub-command on the course directory ``root``.

    The interpreter's bin folder goes first on PATH: nbgrader starts ``alembic`` from
    there to create the gradebook. ``threads``: if given, the BLAS threads of the kernels
    (one when several runs share the cores: spinning BLAS threads of parallel kernels
    otherwise slow each other down several times).
    """
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if threads:
        env.update(dict.fromkeys(BLAS_THREAD_VARIABLES, str(threads)))
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"],
                          cwd=root, capture_output=True, text=True, env=env)


def cell_scores(root: Path, assignment: str, student: str) -> dict[str, tuple[float | None, float]]:
    """``{grade_id: (auto_score, max_score)}`` of one autograded notebook (the one named like the assignment)."""
    with Gradebook(db_url(root)) as gb:
        sub = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.auto_score, g.max_score) for g in sub.grades}
