"""Notebooks are software: generated folders are up to date and every source notebook
follows the course's conventions."""
import re

import nbformat
import pytest

from course import ROOT
from course.build import assignments, check

ASSIGNMENTS = assignments()


def test_there_are_notebooks():
    assert ASSIGNMENTS, "no assignment found in source/"


def test_generated_notebooks_are_up_to_date():
    problems = check(ASSIGNMENTS)
    assert not problems, "\n".join(problems)


@pytest.fixture(params=ASSIGNMENTS)
def source(request):
    name = request.param
    return name, nbformat.read(ROOT / "source" / name / f"{name}.ipynb", as_version=4)


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def test_folder_and_file_names(source):
    name, _ = source
    assert re.fullmatch(r"\d\d_[a-z0-9_]+", name), f"{name}: use NN_snake_case"


def test_structure(source):
    name, nb = source
    assert nb.metadata.kernelspec.name == "python3", f"{name}: kernelspec must be python3"
    first = nb.cells[0].source
    assert first.startswith(f"# {name[:2]} "), f"{name}: the first cell is the title '# {name[:2]} · …'"
    for heading in ("Learning goals", "Prerequisites", "Time"):
        assert heading in first, f"{name}: the first cell must state the {heading.lower()}"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Summary" in text and "## References" in text, f"{name}: needs a summary and references"


def test_graded_cells(source):
    name, nb = source
    tests = [c for c in nb.cells if _nbgrader(c).get("grade") and c.cell_type == "code"]
    solutions = [c for c in nb.cells if _nbgrader(c).get("solution")]
    assert len(tests) >= 4, f"{name}: at least four graded test cells"
    assert solutions, f"{name}: no exercise"
    for cell in tests:
        gid = _nbgrader(cell)["grade_id"]
        assert _nbgrader(cell).get("points", 0) > 0, f"{name}/{gid}: no points"
        assert cell.source.startswith('"""'), f"{name}/{gid}: open with a one-line docstring"
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{name}/{gid}: no hidden tests"
        visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        assert visible.count("\n") >= 2, f"{name}/{gid}: needs visible checks before the hidden ones"
        last = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#")][-1]
        assert not re.match(r"^[A-Za-z_][\w.]*\(.*\)$", last) or last.startswith("check_"), (
            f"{name}/{gid}: do not end a test cell with a bare expression (nbgrader may read it as a score)")


def test_cell_ids_are_stable_and_unique(source):
    name, nb = source
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), f"{name}: every cell needs a unique id"


def test_hidden_tests_say_what_they_forbid(source):
    """Each hidden test states, in a comment, what it forbids and why, or that nothing needs
    forbidding: a library twin of the exercise must not earn its points unnoticed."""
    name, nb = source
    for cell in nb.cells:
        if _nbgrader(cell).get("grade") and cell.cell_type == "code":
            hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)[-1]
            assert re.search(r"#.*(Forbidden:|Nothing to forbid|Nothing forbidden)", hidden), (
                f"{name}/{_nbgrader(cell)['grade_id']}: say in the hidden tests what they forbid and why "
                "('# Forbidden: ...') or why nothing is ('# Nothing to forbid: ...')")


def test_open_questions_with_answers_for_self_study_readers(source):
    """Each notebook ends with open questions; their answers (a markdown cell tagged "answers")
    are in solutions/ and not in the student version."""
    name, nb = source
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Open questions" in text, f"{name}: end with '## Open questions' (2-4 ungraded questions)"
    answers = [c for c in nb.cells if "answers" in c.metadata.get("tags", [])]
    assert answers and all(c.cell_type == "markdown" for c in answers), (
        f"{name}: the answers go into a markdown cell tagged 'answers'")
    student = nbformat.read(ROOT / "notebooks" / name / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    for cell in answers:
        assert all(c.source != cell.source for c in student.cells), f"{name}: an answer is in the student version"
        assert any(c.source == cell.source for c in solution.cells), f"{name}: an answer is missing from solutions/"
