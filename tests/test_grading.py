"""Every notebook through real `nbgrader autograde` runs.

For each assignment: the solution earns full marks, the untouched student version earns
zero on every graded cell, and each plausible mistake in tests/mistakes/ loses points in
the cells it names.
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


def _course_for(assignment, root):
    """A course directory with one assignment generated and its submissions autograded."""
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course", root / "course", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "source" / assignment, root / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    result = nbgrader(root, "generate_assignment", assignment, "--force")
    assert result.returncode == 0, result.stderr
    student_nb = nbformat.read(root / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    source_nb = nbformat.read(root / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    solved = fill_solutions(student_nb, source_nb)
    submissions = {"solution": solved, "untouched": student_nb}
    for name, m in MISTAKES[assignment].items():
        submissions[f"mistake_{name}"] = replace_answer(solved, m["cell"], m["source"])
    for student, nb in submissions.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")
    result = nbgrader(root, "autograde", assignment, "--force")
    return result


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Autograde every assignment (two at a time, each in its own course directory)."""
    roots = {a: tmp_path_factory.mktemp(a) for a in ASSIGNMENTS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        logs = dict(zip(ASSIGNMENTS, pool.map(lambda a: _course_for(a, roots[a]), ASSIGNMENTS)))
    return roots, logs


def _scores(graded, assignment, student):
    roots, logs = graded
    try:
        return cell_scores(roots[assignment], assignment, student)
    except Exception as err:  # noqa: BLE001 - show nbgrader's log instead of a bare lookup error
        pytest.fail(f"{student} was not graded: {err}\n{logs[assignment].stderr[-3000:]}")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_earns_full_marks(graded, assignment):
    scores = _scores(graded, assignment, "solution")
    assert len(scores) >= 4, f"{assignment} has only {len(scores)} graded cells"
    lost = {g: s for g, s in scores.items() if s[0] != s[1]}
    assert not lost, f"the solution of {assignment} loses points in {lost}\n{graded[1][assignment].stderr[-3000:]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_student_version_scores_zero_everywhere(graded, assignment):
    scores = _scores(graded, assignment, "untouched")
    passing = [g for g, (score, _) in scores.items() if score != 0]
    assert not passing, f"these graded cells of {assignment} pass without an answer: {passing}"


@pytest.mark.parametrize("assignment,mistake", [(a, m) for a in ASSIGNMENTS for m in MISTAKES[a]])
def test_plausible_mistake_loses_points(graded, assignment, mistake):
    scores = _scores(graded, assignment, f"mistake_{mistake}")
    expected = MISTAKES[assignment][mistake]["fails"]
    full = [g for g in expected if scores[g][0] == scores[g][1]]
    assert not full, f"mistake {mistake!r} in {assignment} still earns full marks in {full}"
