"""Every notebook through real `nbgrader autograde` runs.

For each assignment: the solution earns full marks, the untouched student version earns
zero on every graded cell, and each plausible mistake in tests/mistakes/ loses points in
the cells it names. Submissions that try to break grading are in tests/test_grade.py.
"""
import runpy
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from course import ROOT
from course.build import assignments
from course.grading import cell_scores, fill_solutions, nbgrader, replace_answer

ASSIGNMENTS = assignments()
MISTAKES = {a: runpy.run_path(str(p))["MISTAKES"] if (p := ROOT / "tests" / "mistakes" / f"{a}.py").exists()
            else {} for a in ASSIGNMENTS}


def _submissions(assignment, student_nb, source_nb):
    """``{student: notebook}``: the solution, the untouched student version and each mistake."""
    solved = fill_solutions(student_nb, source_nb)
    subs = {"solution": solved, "untouched": student_nb}
    for name, m in MISTAKES[assignment].items():
        subs[f"mistake_{name}"] = replace_answer(solved, m["cell"], m["source"])
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
    return nbgrader(root, "autograde", assignment, "--force", threads=1)  # two runs share the cores


class Graded:
    """Autograded course directories, made on first use: each assignment's students are
    split over two directories graded at the same time (one per core)."""

    def __init__(self, tmp_path_factory):
        self.tmp, self.done = tmp_path_factory, {}

    def scores(self, assignment, student):
        if assignment not in self.done:
            students = ["solution", "untouched"] + [f"mistake_{m}" for m in MISTAKES[assignment]]
            halves = [students[0::2], students[1::2]]
            roots = [self.tmp.mktemp(assignment) for _ in halves]
            with ThreadPoolExecutor(max_workers=2) as pool:
                logs = list(pool.map(lambda r_s: _grade(assignment, *r_s), zip(roots, halves)))
            self.done[assignment] = {s: (root, log) for root, log, half in zip(roots, logs, halves)
                                     for s in half}
        root, log = self.done[assignment][student]
        try:
            scores = cell_scores(root, assignment, student)
        except Exception as err:  # noqa: BLE001 - show nbgrader's log, not a bare lookup error
            pytest.fail(f"{student} was not graded: {err}\n{log.stderr[-3000:]}")
        # Every graded cell here is autograded: no score means nbgrader gave up on the notebook.
        ungraded = [g for g, (score, _) in scores.items() if score is None]
        if ungraded:
            pytest.fail(f"nbgrader did not grade {student}'s {assignment} (no score in {ungraded})\n"
                        f"{log.stderr[-3000:]}")
        return scores

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


@pytest.mark.parametrize("assignment,mistake", [(a, m) for a in ASSIGNMENTS for m in MISTAKES[a]])
def test_plausible_mistake_loses_points(graded, assignment, mistake):
    scores = graded.scores(assignment, f"mistake_{mistake}")
    expected = MISTAKES[assignment][mistake]["fails"]
    full = [g for g in expected if scores[g][0] == scores[g][1]]
    assert not full, f"mistake {mistake!r} in {assignment} still earns full marks in {full}"
