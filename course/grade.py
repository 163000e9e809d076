"""Grade a class with nbgrader's own machinery: ``make grade`` (``python -m course.grade``).

    python -m course.grade                         # every new or changed submission
    python -m course.grade 03_equivariance         # one assignment
    python -m course.grade --student ada --force   # grade again even if unchanged
    python -m course.grade --jobs 4                # submissions graded 4 at a time
    python -m course.grade --no-sandbox            # where bubblewrap cannot run (see README)
    python -m course.grade --db postgresql+psycopg://grader:PW@host/cnn   # or $CNN_COURSE_DB
    python -m course.grade --worker                # one of several graders on one gradebook

The gradebook is ``<course>/gradebook.db`` (SQLite) unless ``--db`` or ``CNN_COURSE_DB``
names another database (``course/gradebook.py``); its password is never printed.
With ``--worker``, any number of such processes, on machines that share the course
folder and the database, grade the class together: each claims the next ungraded
submission in the database, so that none is graded twice and none is missed, and a
claim whose worker died is taken over after ``--claim-timeout`` seconds.

For every submission in nbgrader's layout ``submitted/<student>/<assignment>/``:

1. The gradebook learns the assignment (``nbgrader generate_assignment`` into
   ``build/release/``, so that ``notebooks/`` is left alone).
2. A submission not graded yet, changed since, or that nbgrader could not grade last
   time, is staged (``course/staging.py``): copied to ``build/grading/submitted/`` (the
   student's own files are never changed) and mended where it can be (a renamed
   notebook, changed grading metadata, invalid cell ids; a missing or unreadable one is
   replaced by the blank student version, so that it scores 0); what the grader noticed
   goes into a note cell at the top.
3. ``nbgrader autograde`` and ``nbgrader generate_feedback`` for that one submission,
   in one of ``--jobs`` worker processes; the limits and checks of ``nbgrader_config.py``
   apply (see ``course/autograding.py``), and the kernel runs in a sandbox that sees
   nothing of the course (``course/sandbox.py``). Where no sandbox can be made, grading
   on Linux stops unless ``--no-sandbox`` is given, and every grade made without one
   says so in its reason and its feedback.
4. ``grading.json`` beside the autograded notebook records the status (graded, needs
   manual grading, could not be graded) and the reasons (``course/status.py``); then
   ``grades.csv`` is written (``course/export.py``) and a summary table printed.

This module runs it all: the command line, nbgrader's API in worker processes, the order.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from . import ROOT
from .build import assignments
from .export import export_csv
from .gradebook import Claims, Heartbeat, db_url, masked, worker_name
from .grading import BLAS_THREAD_VARIABLES
from .sandbox import INSTALL_HINT, unavailable
from .staging import RELEASE, STAGE, Submission, fingerprint, last_line, prepare
from .status import FAILED, GRADED, MANUAL, progress_line, outcome, read_status, summary, write_status

# What callers of the grader use (the tests, benchmarks/grading.py), in one place.
__all__ = ["grade", "main", "NoSandbox", "sandbox_note", "fingerprint", "summary", "GRADED", "FAILED", "MANUAL"]

# --------------------------------------------------------------------------- nbgrader in-process

def load_config(root: Path, timeout: int | None = None, notebook_timeout: int | None = None,
                sandbox: bool = True, db: str | None = None, figures: bool = True):
    """The course's ``nbgrader_config.py``, pointed at ``root`` and the staging folders."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = db_url(root, db)
    config.CourseDirectory.submitted_directory = STAGE
    config.CourseDirectory.release_directory = RELEASE
    config.NbGraderAPI.log_level = "WARN"
    if timeout is not None:
        config.Execute.timeout = timeout
    if notebook_timeout is not None:
        config.GradingExecute.notebook_timeout = notebook_timeout
    if not sandbox:
        config.GradingExecute.sandbox = False
    if not figures:
        config.GradingExecute.figures = False
    return config


def make_api(config):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


_API = None


def _quiet() -> None:
    """Hide SQLAlchemy's "not in session" warnings from nbgrader's gradebook: noise, grades are right."""
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


def _init_worker(config, threads: int = 0) -> None:
    global _API
    _quiet()
    if threads:  # the kernels inherit it: parallel kernels do not fight over the cores
        os.environ.update(dict.fromkeys(BLAS_THREAD_VARIABLES, str(threads)))
    _API = make_api(config)


def _grade_in_worker(assignment: str, student: str) -> dict:
    """Autograde one submission and write its feedback; nbgrader's result dicts and the time."""
    start = time.perf_counter()
    result = _API.autograde(assignment, student, force=True, create=True)
    if result["success"]:
        feedback = _API.generate_feedback(assignment, student, force=True)
        if not feedback["success"]:
            result["feedback_error"] = last_line(feedback.get("error", ""))
    result["seconds"] = time.perf_counter() - start
    return result


# --------------------------------------------------------------------------- preparing submissions

# --------------------------------------------------------------------------- the run

def find_submissions(root: Path, names: list[str], students: list[str]) -> list[Submission]:
    subs = []
    for folder in sorted((root / "submitted").glob("*/*/")):
        student, assignment = folder.parent.name, folder.name
        if assignment in names and (not students or student in students):
            subs.append(Submission(student, assignment))
    return subs


class NoSandbox(RuntimeError):
    """Grading would run student code with the grader's rights, and nobody said it may."""


def sandbox_note(sandbox: bool) -> str:
    """Empty when kernels run sandboxed; else what every grade made this way says.

    Raises :class:`NoSandbox` on Linux when a sandbox was asked for and cannot be made.
    """
    reason = unavailable()
    if sandbox and reason and sys.platform.startswith("linux"):
        raise NoSandbox(f"grading stopped: student code would run with your rights, since {reason}. "
                        f"To grade safely, {INSTALL_HINT}.")
    if sandbox and not reason:
        return ""
    why = "--no-sandbox was given" if not sandbox else reason
    return f"graded without a sandbox ({why}): the notebook's code ran with the grader's rights"


def grade(root: Path, names: list[str] | None = None, students: list[str] | None = None,
          force: bool = False, jobs: int = 0, timeout: int | None = None,
          notebook_timeout: int | None = None, out=sys.stdout, sandbox: bool = True,
          db: str | None = None, worker: bool = False, claim_timeout: float = 120,
          figures: bool = True) -> list[dict]:
    """Grade every new or changed submission; return the records of the ones graded now.

    ``sandbox=False`` runs the kernels without a sandbox (see :func:`sandbox_note`).
    ``db``: the gradebook's URL (see ``course/gradebook.py``). ``worker=True``: grade,
    one at a time, the submissions this process claims in the database, beside any
    number of other workers (``jobs`` does not apply). ``figures=False``: figures show as
    a line of text in the autograded notebooks and feedback, and grading is faster.
    """
    root = Path(root).resolve()
    url = db_url(root, db)
    if worker and force:
        raise ValueError("--force cannot be combined with --worker: remove grading.json files to grade again")
    unsandboxed = sandbox_note(sandbox)
    if unsandboxed:
        print(f"WARNING: {unsandboxed}. Every grade of this run says so.", file=out, flush=True)
    known = assignments(root)
    names = names or known
    unknown = sorted({f.name for f in (root / "submitted").glob("*/*/")} - set(known))
    for name in unknown:
        print(f"skipping submitted/*/{name}/: there is no source/{name}/", file=out)
    subs = find_submissions(root, names, students or [])
    for sub in subs:
        sub.fingerprint = fingerprint(sub.folder(root))
    subs = [s for s in subs if force or not _up_to_date(root, s)]
    todo = sorted({s.assignment for s in subs})
    print(f"{len(subs)} submission(s) to grade" + (f" in {', '.join(todo)}" if todo else "")
          + f" (gradebook {masked(url)})", file=out, flush=True)
    if not subs:
        return []
    config = load_config(root, timeout, notebook_timeout, sandbox=not unsandboxed, db=url, figures=figures)
    _quiet()
    # nbgrader starts alembic by name to create the gradebook: this interpreter's bin first.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if worker:
        return _work(root, subs, config, url, claim_timeout, unsandboxed, out)
    api = make_api(config)
    notebooks = {}
    for name in todo:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{result.get('log', '')}{result.get('error')}")
        notebooks[name] = _source_notebooks(root, name)
    for sub in subs:
        if unsandboxed:
            sub.notes.append(unsandboxed)
        prepare(root, sub, notebooks[sub.assignment])
    _add_students(url, {s.student for s in subs})
    jobs = jobs or min(len(subs), os.cpu_count() or 1)
    records = []
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(config, threads)) as pool:
        futures = {pool.submit(_grade_in_worker, s.assignment, s.student): s for s in subs}
        for done, future in enumerate(as_completed(futures), start=1):
            sub = futures[future]
            try:
                result = future.result()
            except Exception as err:  # noqa: BLE001 - a worker that died fails one submission
                result = {"success": False, "error": f"the grading process failed: {err!r}", "seconds": 0}
            record = _finish(root, sub, result, notebooks[sub.assignment], config, url)
            records.append(record)
            print(progress_line(done, len(subs), record), file=out, flush=True)
    return records


def _finish(root: Path, sub: Submission, result: dict, notebooks: list[str], config, url: str) -> dict:
    """The record of one graded submission, written to its grading.json."""
    if not result["success"]:
        sub.notes.insert(0, "nbgrader could not grade it: " + last_line(result.get("error", ""))
                         + " (the next run of the grader tries again)")
        sub.failed = sub.retry = True
        # Grade the blank notebook in its place: a score of 0 and feedback that says why.
        prepare(root, sub, notebooks)
        _init_worker(config)
        result["seconds"] += _grade_in_worker(sub.assignment, sub.student)["seconds"]
    if result.get("feedback_error"):
        sub.notes.append("no feedback could be made: " + result["feedback_error"])
    record = outcome(root, sub, notebooks, url)
    record.update(fingerprint=sub.fingerprint, seconds=round(result["seconds"], 2), retry=sub.retry)
    write_status(root, sub, record)
    return record


def _source_notebooks(root: Path, name: str) -> list[str]:
    return sorted(p.stem for p in (root / "source" / name).glob("*.ipynb"))


def _work(root: Path, subs: list[Submission], config, url: str, claim_timeout: float,
          unsandboxed: str, out) -> list[dict]:
    """One of several graders: claim, grade and finish submissions until none is left."""
    claims = Claims(url, claim_timeout)
    me = worker_name()
    started = claims.now()
    # One worker at a time (re)makes an assignment whose source changed, and adds the students.
    with claims.setup_lock():
        for name in sorted({s.assignment for s in subs}):
            source = fingerprint(root / "source" / name)
            if claims.prepared_source(name) != source or not (root / RELEASE / name).is_dir():
                result = make_api(config).generate_assignment(name, force=True, create=True)
                if not result["success"]:
                    raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n"
                                       f"{result.get('log', '')}{result.get('error')}")
                claims.set_prepared(name, source)
        _add_students(url, {s.student for s in subs})
    claims.enqueue([(s.assignment, s.student, s.fingerprint) for s in subs], started)
    mine = {(s.assignment, s.student, s.fingerprint): s for s in subs}
    _init_worker(config)
    records = []
    print(f"worker {me} on gradebook {masked(url)}", file=out, flush=True)
    while (key := claims.claim(me)) is not None:
        if key == "wait":  # the rest is being graded; take over any claim whose worker dies
            time.sleep(min(5.0, claim_timeout / 4))
            continue
        assignment, student, print_ = key
        sub = mine.get(key) or Submission(student, assignment, fingerprint=print_)
        sub.notes, sub.failed, sub.retry = [], False, False
        notebooks = _source_notebooks(root, assignment)
        with Heartbeat(claims, me, key):
            if unsandboxed:
                sub.notes.append(unsandboxed)
            prepare(root, sub, notebooks)
            try:
                result = _grade_in_worker(assignment, student)
            except Exception as err:  # noqa: BLE001 - one submission fails, the worker goes on
                result = {"success": False, "error": f"the grading process failed: {err!r}", "seconds": 0}
            record = _finish(root, sub, result, notebooks, config, url)
        claims.done(me, key)
        records.append(record)
        print(progress_line(len(records), len(records), record), file=out, flush=True)
    claims.dispose()
    return records


def _add_students(url: str, students: set[str]) -> None:
    """Put the students in the gradebook before the workers start: nbgrader's
    find-then-insert would race when two workers grade one student's notebooks."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        for student in sorted(students):
            gb.update_or_create_student(student)


def _up_to_date(root: Path, sub: Submission) -> bool:
    record = read_status(root, sub.student, sub.assignment)
    return record is not None and record.get("fingerprint") == sub.fingerprint and not record.get("retry")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*", help="assignments to grade (default: all)")
    parser.add_argument("--student", action="append", default=[], help="only this student (repeatable)")
    parser.add_argument("--force", action="store_true", help="grade again even if unchanged")
    parser.add_argument("--jobs", type=int, default=0, help="submissions graded at once (default: one per core)")
    parser.add_argument("--timeout", type=int, help="seconds per cell (default: nbgrader_config.py)")
    parser.add_argument("--notebook-timeout", type=int, help="seconds per notebook (default: nbgrader_config.py)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course directory")
    parser.add_argument("--csv", default="grades.csv", help="where to export the grades")
    parser.add_argument("--db", help=f"the gradebook's database URL (default: ${'{'}CNN_COURSE_DB{'}'} or "
                        "sqlite:///<root>/gradebook.db)")
    parser.add_argument("--worker", action="store_true",
                        help="one of several graders sharing the course folder and the database")
    parser.add_argument("--claim-timeout", type=float, default=120,
                        help="seconds without a heartbeat after which a worker's claim is taken over")
    parser.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                        help="run student code with your own rights where bubblewrap cannot run (unsafe)")
    parser.add_argument("--no-figures", dest="figures", action="store_false",
                        help="figures as a line of text in the feedback instead of pictures: faster grading")
    args = parser.parse_args(argv)
    if not (args.root / "submitted").is_dir():
        print(f"no submissions: {args.root / 'submitted'} does not exist. Collect them as "
              "submitted/<student>/<assignment>/<assignment>.ipynb, or run `make example-class` "
              "for a class of example students.", file=sys.stderr)
        return 1
    # The URL (and its password) goes to the grader's code only, not to the kernels it starts.
    args.db = db_url(args.root, args.db)
    os.environ.pop("CNN_COURSE_DB", None)
    try:
        grade(args.root, args.assignments, args.student, args.force, args.jobs, args.timeout,
              args.notebook_timeout, sandbox=args.sandbox, db=args.db, worker=args.worker,
              claim_timeout=args.claim_timeout, figures=args.figures)
    except (NoSandbox, ValueError) as err:
        print(err, file=sys.stderr)
        return 2
    rows = export_csv(args.root, args.root / args.csv, args.db)
    print(f"\nwrote {args.csv} and feedback/<student>/<assignment>/*.html\n")
    print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
