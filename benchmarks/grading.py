"""How long grading takes: ``make bench-grading`` (``python benchmarks/grading.py``).

1. One full submission of every notebook, graded one at a time (``--jobs 1``): the time
   per notebook (nbgrader autograde + generate_feedback, as ``make grade`` runs them).
2. ``--students`` copies of that submission graded with ``--jobs`` workers: the
   throughput, and from it the projected time for a class of ``--class-size`` students.

3. What the grading sandbox costs (``course/sandbox.py``): a kernel started and a first
   cell run (``import cnnlib, matplotlib.pyplot``), with and without the sandbox, in turns.

Targets: under 10 s per notebook per student, parallel grading across students, and under
0.2 s of sandbox per notebook. Runs in a temporary course directory; nothing in the
repository is touched. ``--sandbox-only`` measures only the sandbox.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from course import ROOT
from course.build import assignments
from course.example_class import notebooks, write_submission
from course.grade import grade
from course.sandbox import unavailable


def kernel_seconds(folder: Path, sandbox: bool) -> float:
    """Seconds to start a grading kernel and run one cell that imports what notebooks import."""
    from nbformat.v4 import new_code_cell, new_notebook

    from course.autograding import GradingExecute

    nb = new_notebook(cells=[new_code_cell("import cnnlib, matplotlib.pyplot")])
    start = time.perf_counter()
    GradingExecute(kernel_name="python3", sandbox=sandbox).preprocess(nb, {"metadata": {"path": str(folder)}})
    seconds = time.perf_counter() - start
    assert not [o for o in nb.cells[0].outputs if o.output_type == "error"], nb.cells[0].outputs
    return seconds


def sandbox_cost(folder: Path, repeats: int) -> None:
    reason = unavailable()
    if reason:
        print(f"\nsandbox: not measured ({reason})")
        return
    times = {True: [], False: []}
    for _ in range(repeats):
        for sandbox in (True, False):  # in turns, so that a change in load hits both
            times[sandbox].append(kernel_seconds(folder, sandbox))
    with_, without = statistics.median(times[True]), statistics.median(times[False])
    cost = with_ - without
    print(f"\nsandbox: a kernel started and its first cell run, median of {repeats}: {with_:.2f} s sandboxed, "
          f"{without:.2f} s not: {cost:+.2f} s per notebook ({'OK' if cost <= 0.2 else 'MISS'}, target ≤ 0.2 s)")


def course_copy(root: Path) -> Path:
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for folder in ("course", "source", "notebooks"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def submit(root: Path, students: list[str], names: list[str]) -> None:
    for name in names:
        solved = notebooks(root, name)[1]
        for student in students:
            write_submission(root, student, name, solved)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=4, help="students in the parallel run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="workers in the parallel run")
    parser.add_argument("--class-size", type=int, default=200)
    parser.add_argument("--only", help="assignments whose names start with this")
    parser.add_argument("--repeats", type=int, default=7, help="kernel starts per mode for the sandbox's cost")
    parser.add_argument("--sandbox-only", action="store_true", help="measure only the sandbox's cost")
    args = parser.parse_args(argv)
    names = [n for n in assignments() if not args.only or n.startswith(args.only)]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}")

    if args.sandbox_only:
        with tempfile.TemporaryDirectory() as tmp:
            sandbox_cost(Path(tmp), args.repeats)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = course_copy(Path(tmp))
        submit(root, ["solo"], names)
        start = time.perf_counter()
        records = grade(root, names, jobs=1, out=io.StringIO())
        solo_wall = time.perf_counter() - start
        per_notebook = {r["assignment"]: r["seconds"] for r in records}
        print("\none full submission, graded one notebook at a time (autograde + feedback):\n")
        print(f"| notebook | seconds | score | target ≤ 10 s |\n| --- | --- | --- | --- |")
        for r in sorted(records, key=lambda r: r["assignment"]):
            ok = "OK" if r["seconds"] <= 10 else "MISS"
            print(f"| {r['assignment']} | {r['seconds']:.1f} | {r['score']:g}/{r['max_score']:g} | {ok} |")
        total = sum(per_notebook.values())
        print(f"\nall {len(names)} notebooks: {total:.1f} s of grading "
              f"(median {statistics.median(per_notebook.values()):.1f} s per notebook); "
              f"{solo_wall:.1f} s wall with the gradebook set-up")

        students = [f"s{i:03d}" for i in range(args.students)]
        submit(root, students, names)
        start = time.perf_counter()
        records = grade(root, names, students, jobs=args.jobs, out=io.StringIO())
        wall = time.perf_counter() - start
        n = len(records)
        wrong = [r for r in records if r["status"] != "graded" or r["score"] != r["max_score"]]
        if wrong:
            print(f"\n{len(wrong)} submissions were not graded in full: {wrong}")
        per_submission = wall / n
        projected = args.class_size * len(names) * per_submission
        print(f"\n{args.students} students × {len(names)} notebooks = {n} submissions with {args.jobs} "
              f"workers: {wall:.1f} s wall, {per_submission:.2f} s per submission "
              f"({total / len(names) / per_submission:.2f}× the one-at-a-time rate)")
        print(f"projected for {args.class_size} students × {len(names)} notebooks on {args.jobs} cores: "
              f"{projected / 60:.0f} min ({projected / 3600:.1f} h)")
        sandbox_cost(root, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
