"""Regenerate the student and solution notebooks from source/.

    python -m course.build            # rebuild notebooks/ and solutions/ (executes them)
    python -m course.build 00_conv    # only the assignments whose name starts so
    python -m course.build --check    # fail if either folder is out of date with source/

Student versions come from ``nbgrader generate_assignment`` (solutions replaced by
``YOUR CODE HERE``, hidden tests removed, outputs cleared). Solution notebooks are the
source with nbgrader's marker lines and metadata removed, executed, outputs kept.
``--check`` regenerates the student versions into a temporary folder and compares
bytes, and compares the solutions' cells (not their outputs: nbval re-runs those).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from . import ROOT, pin_blas_kernels

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
KERNEL = "python3"
CELL_TIMEOUT = 300


def assignments(root: Path = ROOT, prefix: str = "") -> list[str]:
    """Names of the assignments in ``root/source``: ``NN_topic`` folders holding ``NN_topic.ipynb``."""
    return sorted(
        p.parent.name
        for p in (root / "source").glob("*/*.ipynb")
        if p.stem == p.parent.name and p.parent.name.startswith(prefix)
    )


def clean_source(src: str) -> str:
    """Drop the lines that carry nbgrader's markers, keeping everything between them."""
    return "\n".join(line for line in src.split("\n") if not any(m in line for m in MARKERS))


def solution_notebook(source_path: Path) -> nbformat.NotebookNode:
    """The source notebook as a self-study reader sees it, not yet executed."""
    nb = nbformat.read(source_path, as_version=4)
    nb.metadata.pop("nbgrader", None)
    for cell in nb.cells:
        cell.source = clean_source(cell.source)
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path) -> None:
    """Run ``nb`` in place with the course kernel, in ``cwd``; raise on the first error."""
    pin_blas_kernels()  # the kernel inherits it: the same numbers on every machine nbval checks on
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=KERNEL,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def generate_students(root: Path, names: list[str], release: str) -> None:
    """Run ``nbgrader generate_assignment`` for ``names`` into ``root/release``, two at a time
    (each is a process that spends most of its time starting)."""
    def generate(name):
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--no-db",
             f"--CourseDirectory.root={root}", f"--CourseDirectory.release_directory={release}",
             "--log-level=WARN"],
            check=True,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(generate, names))


def build(names: list[str]) -> None:
    generate_students(ROOT, names, "notebooks")
    for name in names:
        out_dir = ROOT / "solutions" / name
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(ROOT / "source" / name, out_dir,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
        nb = solution_notebook(ROOT / "source" / name / f"{name}.ipynb")
        print(f"executing solutions/{name}/{name}.ipynb", flush=True)
        execute(nb, out_dir)
        nbformat.write(nb, out_dir / f"{name}.ipynb")


def _cells(nb):
    return [(c.cell_type, c.get("id"), c.source) for c in nb.cells]


def check(names: list[str]) -> list[str]:
    """Return a list of problems; empty when notebooks/ and solutions/ match source/."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", tmp)
        shutil.copytree(ROOT / "course", tmp / "course", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "source", tmp / "source", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        generate_students(tmp, names, "notebooks")
        for name in names:
            fresh = tmp / "notebooks" / name / f"{name}.ipynb"
            stored = ROOT / "notebooks" / name / f"{name}.ipynb"
            if not stored.exists() or stored.read_bytes() != fresh.read_bytes():
                problems.append(f"notebooks/{name}/{name}.ipynb is out of date with source/")
    for name in names:
        stored = ROOT / "solutions" / name / f"{name}.ipynb"
        expected = solution_notebook(ROOT / "source" / name / f"{name}.ipynb")
        if not stored.exists() or _cells(nbformat.read(stored, as_version=4)) != _cells(expected):
            problems.append(f"solutions/{name}/{name}.ipynb is out of date with source/")
    stale = {p.name for p in (ROOT / "notebooks").glob("*/") if p.is_dir()} - set(assignments())
    problems += [f"notebooks/{s}/ has no source/{s}/" for s in sorted(stale)]
    if problems:
        problems.append("run `make notebooks` and commit notebooks/ and solutions/")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("prefix", nargs="?", default="", help="only assignments starting with this")
    parser.add_argument("--check", action="store_true", help="only check that the outputs are up to date")
    args = parser.parse_args(argv)
    names = assignments(prefix=args.prefix)
    if not names:
        print(f"no assignment in source/ matches {args.prefix!r}", file=sys.stderr)
        return 1
    if args.check:
        problems = check(names)
        print("\n".join(problems) or f"up to date: {', '.join(names)}")
        return 1 if problems else 0
    build(names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
