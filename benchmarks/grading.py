"""How long grading takes: ``make bench-grading`` (``python benchmarks/grading.py``).

1. One full submission of every notebook, graded one at a time (``--jobs 1``): the time
   per notebook (nbgrader autograde + generate_feedback, as ``make grade`` runs them).
2. ``--students`` copies of that submission graded with ``--jobs`` workers: the
   throughput, and from it the projected time for a class of ``--class-size`` students.

3. What the grading sandbox costs (``course/sandbox.py``): a kernel started and a first
   cell run (``import cnnlib, matplotlib.pyplot``), with and without the sandbox, in turns.
4. Submissions per minute with one and with two ``python -m course.grade --worker``
   processes on a shared PostgreSQL gradebook (a server of its own, started as
   tests/test_gradebook_db.py starts it: ``initdb``/``pg_ctl`` of Debian's ``postgresql``),
   ``--worker-students`` students × every notebook each, and from the two-worker rate the
   time for ``--class-size`` students on K machines like this one. ``--workers-only``
   measures only this.

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course import ROOT
from course.build import assignments
from course.example_class import notebooks, write_submission
from course.export import export_csv
from course.grade import grade
from course.sandbox import unavailable

from conv import cpu_model  # benchmarks/conv.py, beside this script


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


def postgres_server():
    """A PostgreSQL server of its own (tests/test_gradebook_db.py's ``Server``), or the reason there is none."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import test_gradebook_db
    except ImportError as err:  # pytest is a test dependency
        return None, f"tests/test_gradebook_db.py cannot be imported ({err})"
    if test_gradebook_db.MISSING:
        return None, test_gradebook_db.MISSING
    return test_gradebook_db.Server(), None


def run_workers(root: Path, url: str, workers: int, sandbox: bool) -> float:
    """Seconds until ``workers`` processes of ``course.grade --worker`` have graded the class."""
    cmd = [sys.executable, "-m", "course.grade", "--root", str(root), "--worker"] + ([] if sandbox else ["--no-sandbox"])
    env = dict(os.environ, CNN_COURSE_DB=url)
    logs = [open(root / f"worker{i}.log", "w") for i in range(workers)]
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - start
    for log in logs:
        log.close()
    if any(codes):
        tail = (root / "worker0.log").read_text()[-2000:]
        raise RuntimeError(f"a worker exited with {codes}:\n{tail}")
    return wall


def done_times(url: str) -> tuple[float, float]:
    """When the first and the last submission were done, from the workers' claims table."""
    from sqlalchemy import create_engine

    from course.gradebook import CLAIMS

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.exec_driver_sql(f"SELECT min(done_at), max(done_at) FROM {CLAIMS}").first())
    finally:
        engine.dispose()


def worker_throughput(names: list[str], students: int, class_size: int) -> None:
    """Submissions per minute with one and two workers on a shared PostgreSQL gradebook."""
    server, reason = postgres_server()
    if server is None:
        print(f"\nworkers on PostgreSQL: not measured ({reason})")
        return
    sandbox = unavailable() is None
    rates = {}
    try:
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                root = course_copy(Path(tmp))
                submit(root, [f"w{i:03d}" for i in range(students)], names)
                url = server.create(f"bench_workers_{workers}")
                wall = run_workers(root, url, workers, sandbox)
                rows = export_csv(root, root / "grades.csv", url)
                # Every submission is a solution: all autograded points (08's written answer waits
                # for a person), none failed.
                wrong = [r for r in rows if r["status"] not in ("graded", "needs manual grading")
                         or (r["status"] == "graded" and float(r["score"]) != float(r["max_score"]))]
                if wrong:
                    print(f"\n{len(wrong)} submissions were not graded as expected: {wrong}")
                first, last = done_times(url)
                # The steady rate: submissions done after the first, over the time since it; the
                # start (the gradebook made, nine assignments generated) is left out, as it is
                # paid once per class.
                rates[workers] = (len(rows) - 1) / (last - first) * 60
                print(f"\n{workers} worker{'s' if workers > 1 else ''} (course.grade --worker, PostgreSQL gradebook"
                      f"{'' if sandbox else ', no sandbox'}): {len(rows)} submissions in {wall:.1f} s wall "
                      f"({len(rows) / wall * 60:.1f} per minute with the start), "
                      f"{rates[workers]:.1f} per minute once started (load average {os.getloadavg()[0]:.1f})")
    finally:
        server.stop()
    n = class_size * len(names)
    print(f"\ntwo workers / one, once started: {rates[2] / rates[1]:.2f}×. Projected for {class_size} students × {len(names)} "
          f"notebooks = {n} submissions, two workers per machine like this one "
          f"({os.cpu_count()} CPUs), the database shared:\n")
    print("| machines | hours |\n| --- | --- |")
    for k in (1, 5, 10, 20, 50):
        print(f"| {k} | {n / (k * rates[2]) / 60:.1f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=4, help="students in the parallel run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="workers in the parallel run")
    parser.add_argument("--class-size", type=int, default=1000)
    parser.add_argument("--only", help="assignments whose names start with this")
    parser.add_argument("--repeats", type=int, default=7, help="kernel starts per mode for the sandbox's cost")
    parser.add_argument("--sandbox-only", action="store_true", help="measure only the sandbox's cost")
    parser.add_argument("--worker-students", type=int, default=2,
                        help="students (each with every notebook) in the runs of --worker processes")
    parser.add_argument("--workers-only", action="store_true",
                        help="measure only the --worker processes on a PostgreSQL gradebook")
    args = parser.parse_args(argv)
    names = [n for n in assignments() if not args.only or n.startswith(args.only)]
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}")

    if args.sandbox_only:
        with tempfile.TemporaryDirectory() as tmp:
            sandbox_cost(Path(tmp), args.repeats)
        return 0
    if args.workers_only:
        worker_throughput(names, args.worker_students, args.class_size)
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
    worker_throughput(names, args.worker_students, args.class_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
