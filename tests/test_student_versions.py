"""A student stuck on one exercise can read on: every untouched student notebook in
``notebooks/`` runs top to bottom, and the only cells that raise are the exercises'
check cells (nbgrader ``grade: true``). Demos below an unsolved exercise use the
library's version or print a one-line "solve exercise N ... to see this" instead.

Executes every notebook in ``notebooks/`` (two at a time): under a minute on two idle cores.
"""
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from nbclient import NotebookClient

from course import ROOT

CELL_TIMEOUT = 120

#: The student notebooks whose demos survive unsolved exercises.
CHECKED = sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir() and p.name[:2].isdigit())


def _run(name):
    """Execute ``notebooks/name/name.ipynb`` allowing errors; the cells that raised."""
    folder = ROOT / "notebooks" / name
    nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    raised = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                raised.append((index, cell, f"{out.ename}: {out.evalue}".splitlines()[0][:200]))
    return raised


@pytest.fixture(scope="module")
def errors():
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(CHECKED, pool.map(_run, CHECKED)))


@pytest.mark.parametrize("name", CHECKED)
def test_only_check_cells_raise_in_untouched_student_notebook(errors, name):
    unexpected = [
        f"{name} cell {index}: {(cell.source.splitlines() or [''])[0]!r} -> {error}"
        for index, cell, error in errors[name]
        if not cell.metadata.get("nbgrader", {}).get("grade", False)
    ]
    assert not unexpected, "cells other than check cells raise:\n" + "\n".join(unexpected)


@pytest.mark.parametrize("name", CHECKED)
def test_check_cells_do_raise(errors, name):
    """Sanity: the untouched version fails its checks (so the run did execute them)."""
    assert errors[name], f"{name}: no cell raised in the untouched version"
