"""Grade a class with nbgrader's own machinery: ``make grade`` (``python -m course.grade``).

    python -m course.grade                         # every new or changed submission
    python -m course.grade 03_equivariance         # one assignment
    python -m course.grade --student ada --force   # grade again even if unchanged
    python -m course.grade --jobs 4                # submissions graded 4 at a time
    python -m course.grade --no-sandbox            # where bubblewrap cannot run (see README)

For every submission in nbgrader's layout ``submitted/<student>/<assignment>/``:

1. The gradebook learns the assignment (``nbgrader generate_assignment`` into
   ``build/release/``, so that ``notebooks/`` is left alone).
2. A submission not graded yet, changed since, or that nbgrader could not grade last
   time, is checked and copied to
   ``build/grading/submitted/`` (the student's own files are never changed): a renamed
   notebook is taken under its right name; changed grading metadata is restored from
   the blank version and invalid cell ids are replaced; a missing or unreadable one
   (empty, not JSON, a format nbformat cannot read) is replaced by the blank student
   version, so that it scores 0; symbolic links are left out; what the grader noticed
   goes into a note cell at the top.
3. ``nbgrader autograde`` and ``nbgrader generate_feedback`` for that one submission,
   in one of ``--jobs`` worker processes; the limits and checks of ``nbgrader_config.py``
   apply (see ``course/autograding.py``), and the kernel runs in a sandbox that sees
   nothing of the course (``course/sandbox.py``). Where no sandbox can be made, grading
   on Linux stops unless ``--no-sandbox`` is given, and every grade made without one
   says so in its reason and its feedback.
4. ``grading.json`` beside the autograded notebook records the status (graded, needs
   manual grading, could not be graded) and the reasons; then ``grades.csv`` is written
   (``course/export.py``) and a summary table printed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4.nbbase import random_cell_id
from nbformat.v4 import new_markdown_cell

from . import ROOT
from .build import assignments
from .grading import BLAS_THREAD_VARIABLES, grade_id
from .sandbox import INSTALL_HINT, unavailable

STAGE = "build/grading/submitted"
RELEASE = "build/release"
STATUS_FILE = "grading.json"
NOTE_CELL_ID = "grader-note"
GRADED, MANUAL, FAILED, MISSING = "graded", "needs manual grading", "could not be graded", "not submitted"
# Errors that GradingExecute and the integrity checks write into a cell, and what they mean.
STOPS = {
    "KernelDied": "the kernel died in cell {n} ({where}); the cells after it were not run",
    "CellTimeoutError": "cell {n} ({where}) ran past the time limit",
    "MemoryError": "cell {n} ({where}) ran out of memory",
}


@dataclass
class Submission:
    """One student's folder for one assignment, and what the grader found in it."""

    student: str
    assignment: str
    notes: list[str] = field(default_factory=list)
    failed: bool = False  # the notebook could not be read: the blank version is graded instead
    retry: bool = False  # nbgrader could not grade it: the next run tries again
    fingerprint: str = ""  # of the submitted files, when the run found them

    def folder(self, root: Path, step: str = "submitted") -> Path:
        return root / step / self.student / self.assignment


# --------------------------------------------------------------------------- nbgrader in-process

def load_config(root: Path, timeout: int | None = None, notebook_timeout: int | None = None,
                sandbox: bool = True):
    """The course's ``nbgrader_config.py``, pointed at ``root`` and the staging folders."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.submitted_directory = STAGE
    config.CourseDirectory.release_directory = RELEASE
    config.NbGraderAPI.log_level = "WARN"
    if timeout is not None:
        config.Execute.timeout = timeout
    if notebook_timeout is not None:
        config.GradingExecute.notebook_timeout = notebook_timeout
    if not sandbox:
        config.GradingExecute.sandbox = False
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
    sys.path.insert(0, config.CourseDirectory.root)
    _API = make_api(config)


def _grade_in_worker(assignment: str, student: str) -> dict:
    """Autograde one submission and write its feedback; nbgrader's result dicts and the time."""
    start = time.perf_counter()
    result = _API.autograde(assignment, student, force=True, create=True)
    if result["success"]:
        feedback = _API.generate_feedback(assignment, student, force=True)
        if not feedback["success"]:
            result["feedback_error"] = _last_line(feedback.get("error", ""))
    result["seconds"] = time.perf_counter() - start
    return result


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


# --------------------------------------------------------------------------- preparing submissions

def _files(folder: Path) -> list[Path]:
    """Every file and symbolic link under ``folder``; links are not followed."""
    found = []
    for parent, dirs, files in os.walk(folder):
        found += [Path(parent) / name for name in files]
        found += [Path(parent) / name for name in dirs if (Path(parent) / name).is_symlink()]
    return sorted(found)


def fingerprint(folder: Path) -> str:
    """A hash of every file in a submission folder: grading again only when it changed."""
    digest = hashlib.sha256()
    for path in _files(folder):
        content = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + content)
    return digest.hexdigest()


def _drop_links(folder: Path, notes: list[str]) -> None:
    """Remove the symbolic links of a staged submission: the grader never reads through one."""
    links = [p for p in _files(folder) if p.is_symlink()]
    for link in links:
        link.unlink()
    if links:
        names = ", ".join(str(p.relative_to(folder)) for p in links[:5])
        notes.append(f"the submission held symbolic links ({names}): the grader left them out")


def _grade_ids(nb) -> list[str]:
    return [gid for c in nb.cells if (gid := grade_id(c))]


def _read(path: Path):
    """The notebook at ``path``, or the reason it cannot be graded."""
    size = path.stat().st_size
    if size == 0:
        return None, f"{path.name} is an empty file"
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - every unreadable file gets its reason
        kind = "not valid JSON" if "JSON" in type(err).__name__ else "not a notebook nbformat can read"
        return None, f"{path.name} is {kind} ({_last_line(str(err))[:200]})"
    if not isinstance(nb, dict) or "cells" not in nb:
        return None, f"{path.name} is not a notebook"
    return nb, None


def _check_cells(nb, blank, notes: list[str]) -> None:
    """Notes on test cells deleted, edited or duplicated, and on cells run out of order."""
    mine = _grade_ids(nb)
    sources = {gid: c.source for c in nb.cells if (gid := grade_id(c))}
    for cell in blank.cells:
        info = cell.metadata.get("nbgrader", {})
        gid = info.get("grade_id")
        if not gid:
            continue
        if gid not in sources:
            notes.append(f"cell {gid} was missing: the grader put the original back"
                         + (" and ran it" if info.get("grade") else ""))
        elif info.get("locked") and sources[gid] != cell.source:
            notes.append(f"locked cell {gid} was edited: the grader ran the original")
    for gid in sorted({g for g in mine if mine.count(g) > 1}):
        notes.append(f"cell {gid} appears {mine.count(gid)} times (a split or copied cell): "
                     "the first copy keeps its place in the grading")
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    if any(b <= a for a, b in zip(counts, counts[1:])):
        notes.append("the cells had been run out of order: the grader ran them top to bottom in a fresh kernel")


VALID_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # nbformat 4.5's rule, which nbgrader enforces


def _repair_cell_ids(nb, notes: list[str]) -> None:
    """New ids for cells whose id nbformat would reject (nbgrader gives up on the notebook)."""
    bad = [c for c in nb.cells if "id" in c and not (isinstance(c.id, str) and VALID_CELL_ID.fullmatch(c.id))]
    for cell in bad:
        cell.id = random_cell_id()
    if bad:
        notes.append(f"{len(bad)} cell id(s) were not valid notebook cell ids: the grader gave those cells new ones")


def _restore_metadata(nb, blank, notes: list[str]) -> None:
    """Give each cell the grading metadata the blank version has for its grade id.

    nbgrader gives up on a whole notebook when one cell's metadata is malformed (a points
    value that is not a number, a newer schema version, a grade cell with no id), which
    would score the student's work 0. A cell whose metadata names no cell of the
    assignment becomes an ordinary cell; a test cell that thereby goes missing is put back.
    """
    known = {gid: c.metadata["nbgrader"] for c in blank.cells if (gid := grade_id(c))}
    for n, cell in enumerate(nb.cells, start=1):
        if "nbgrader" not in cell.metadata:
            continue
        gid = grade_id(cell)
        if gid in known:
            if cell.metadata.nbgrader != known[gid]:
                cell.metadata.nbgrader = nbformat.from_dict(known[gid])  # a copy
                notes.append(f"the grading metadata of cell {gid} had been changed: the grader restored it")
        else:
            del cell.metadata["nbgrader"]
            notes.append(f"cell {n} carried grading metadata of no cell in the assignment"
                         + (f" ({gid})" if gid else "") + ": the grader took it as an ordinary cell")


def _note_cell(sub: Submission):
    if sub.failed:
        text = (f"**This submission could not be graded: {sub.notes[0]}.** The grader graded the blank "
                "notebook in its place, so every test scores 0. Submit the notebook again, saved from "
                "JupyterLab, under its original name.")
        rest = sub.notes[1:]
    else:
        text, rest = "**Notes from the grader**", sub.notes
    text += "".join(f"\n- {note}" for note in dict.fromkeys(rest))  # a retry repeats some
    return new_markdown_cell(text, id=NOTE_CELL_ID)


def prepare(root: Path, sub: Submission, notebooks: list[str]) -> None:
    """Copy the submission to the staging folder, repairing what can be repaired.

    With ``sub.failed`` already set (nbgrader could not grade it), the blank notebooks
    go in its place.
    """
    src, dest = sub.folder(root), sub.folder(root, STAGE)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, symlinks=True)
    _drop_links(dest, sub.notes)
    expected = {f"{name}.ipynb" for name in notebooks}
    for name in notebooks:
        path = dest / f"{name}.ipynb"
        blank = nbformat.read(root / RELEASE / sub.assignment / f"{name}.ipynb", as_version=4)
        if not path.exists():
            _find_renamed(dest, path, expected, blank, sub)
        nb, reason = _read(path) if path.exists() else (None, f"there is no {path.name} in the submission")
        if sub.failed:
            nb = blank
        elif nb is not None:
            if nb.nbformat_minor > nbformat.current_nbformat_minor:
                sub.notes.append(f"{path.name} is in notebook format 4.{nb.nbformat_minor}, newer than this "
                                 f"grader's 4.{nbformat.current_nbformat_minor}: it was read as 4."
                                 f"{nbformat.current_nbformat_minor}")
                nb.nbformat_minor = nbformat.current_nbformat_minor
            if path.stat().st_size > 20 << 20:
                sub.notes.append(f"{path.name} held {path.stat().st_size >> 20} MB, mostly outputs: "
                                 "the grader cleared them")
            _repair_cell_ids(nb, sub.notes)
            _restore_metadata(nb, blank, sub.notes)
            _check_cells(nb, blank, sub.notes)
        else:
            sub.notes.insert(0, reason)
            sub.failed = True
            nb = blank
        if sub.notes:
            nb.cells.insert(0, _note_cell(sub))
        nbformat.write(nb, path)


def _find_renamed(dest: Path, path: Path, expected: set[str], blank, sub: Submission) -> None:
    """Move the notebook that holds most of the assignment's cells to ``path``."""
    wanted, best, best_count = set(_grade_ids(blank)), None, 0
    for other in sorted(dest.glob("*.ipynb")):
        if other.name in expected:
            continue
        nb, _ = _read(other)
        count = len(wanted & set(_grade_ids(nb))) if nb is not None else 0
        if count > best_count:
            best, best_count = other, count
    if best is not None:
        best.rename(path)
        sub.notes.append(f"the notebook was submitted as {best.name}: the grader graded it as {path.name}")


# --------------------------------------------------------------------------- after grading

def _cell_label(cell) -> str:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    return gid or cell.source.strip().split("\n")[0][:40]


def outcome(root: Path, sub: Submission, notebooks: list[str]) -> dict:
    """Score, status and reasons of a graded submission, from the gradebook and its notebooks."""
    from nbgrader.api import Gradebook, MissingEntry

    reasons = list(sub.notes)
    for name in notebooks:
        path = sub.folder(root, "autograded") / f"{name}.ipynb"
        if not path.exists():
            continue
        code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        for n, cell in enumerate(code, start=1):
            for out in cell.get("outputs", []):
                if out.output_type != "error":
                    continue
                if out.ename in STOPS:
                    reason = STOPS[out.ename].format(n=n, where=_cell_label(cell))
                    if "did not stop" in out.evalue:
                        reason += " and did not stop when interrupted; the cells after it were not run"
                    reasons.append(reason)
                elif out.ename == "AssertionError" and out.evalue.startswith("this notebook replaced"):
                    reasons.append(f"{out.evalue.split(':')[0]}: its test cells score 0")
    reasons = list(dict.fromkeys(reasons))  # the same reason once
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        try:
            s = gb.find_submission(sub.assignment, sub.student)
            score, max_score, manual = s.score, s.max_score, s.needs_manual_grade
        except MissingEntry:
            score, max_score, manual = None, None, False
    status = FAILED if sub.failed or score is None else MANUAL if manual else GRADED
    return {"student": sub.student, "assignment": sub.assignment, "status": status,
            "score": score, "max_score": max_score, "reasons": reasons}


def write_status(root: Path, sub: Submission, record: dict) -> None:
    folder = sub.folder(root, "autograded")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATUS_FILE).write_text(json.dumps(record, indent=1) + "\n")


def read_status(root: Path, student: str, assignment: str) -> dict | None:
    path = root / "autograded" / student / assignment / STATUS_FILE
    return json.loads(path.read_text()) if path.exists() else None


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
          notebook_timeout: int | None = None, out=sys.stdout, sandbox: bool = True) -> list[dict]:
    """Grade every new or changed submission; return the records of the ones graded now.

    ``sandbox=False`` runs the kernels without a sandbox (see :func:`sandbox_note`).
    """
    root = Path(root).resolve()
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
    print(f"{len(subs)} submission(s) to grade" + (f" in {', '.join(todo)}" if todo else ""), file=out, flush=True)
    if not subs:
        return []
    config = load_config(root, timeout, notebook_timeout, sandbox=not unsandboxed)
    _quiet()
    sys.path.insert(0, str(root))
    # nbgrader starts alembic by name to create the gradebook: this interpreter's bin first.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    api = make_api(config)
    notebooks = {}
    for name in todo:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{result.get('log', '')}{result.get('error')}")
        notebooks[name] = sorted(p.stem for p in (root / "source" / name).glob("*.ipynb"))
    for sub in subs:
        if unsandboxed:
            sub.notes.append(unsandboxed)
        prepare(root, sub, notebooks[sub.assignment])
    _add_students(root, {s.student for s in subs})
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
            if not result["success"]:
                sub.notes.insert(0, "nbgrader could not grade it: " + _last_line(result.get("error", ""))
                                 + " (the next run of the grader tries again)")
                sub.failed = sub.retry = True
                # Grade the blank notebook in its place: a score of 0 and feedback that says why.
                prepare(root, sub, notebooks[sub.assignment])
                _init_worker(config)
                result["seconds"] += _grade_in_worker(sub.assignment, sub.student)["seconds"]
            if result.get("feedback_error"):
                sub.notes.append("no feedback could be made: " + result["feedback_error"])
            record = outcome(root, sub, notebooks[sub.assignment])
            record.update(fingerprint=sub.fingerprint, seconds=round(result["seconds"], 2), retry=sub.retry)
            write_status(root, sub, record)
            records.append(record)
            print(_progress(done, len(subs), record), file=out, flush=True)
    return records


def _add_students(root: Path, students: set[str]) -> None:
    """Put the students in the gradebook before the workers start: nbgrader's
    find-then-insert would race when two workers grade one student's notebooks."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in sorted(students):
            gb.update_or_create_student(student)


def _up_to_date(root: Path, sub: Submission) -> bool:
    record = read_status(root, sub.student, sub.assignment)
    return record is not None and record.get("fingerprint") == sub.fingerprint and not record.get("retry")


def _score(record) -> str:
    if record.get("score") is None:
        return "-"
    return f"{record['score']:g}/{record['max_score']:g}"


def _progress(done: int, total: int, record: dict) -> str:
    width = len(str(total))
    reason = f"  ({record['reasons'][0]})" if record["reasons"] else ""
    return (f"[{done:>{width}}/{total}] {record['assignment']:<24} {record['student']:<16} "
            f"{_score(record):>7}  {record['seconds']:5.1f} s  {record['status']}{reason}")


def summary(rows: list[dict]) -> str:
    """Student × assignment table of scores, then every submission that needs a look."""
    students = sorted({r["student_id"] for r in rows})
    names = sorted({r["assignment"] for r in rows})
    cell = {(r["student_id"], r["assignment"]): r for r in rows}

    def entry(r):
        mark = {GRADED: "", MANUAL: " M", FAILED: " !", MISSING: ""}[r["status"]]
        return ("-" if r["status"] == MISSING else f"{float(r['score']):g}/{float(r['max_score']):g}") + mark

    table = [["student", *names]] + [[s, *(entry(cell[s, a]) for a in names)] for s in students]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in table]
    lines.append("(- not submitted, ! could not be graded, M needs manual grading)")
    flagged = [r for r in rows if r["reason"]]
    if flagged:
        lines.append("")
        lines += [f"{r['student_id']} / {r['assignment']}: {r['status']}: {r['reason']}" for r in flagged]
    return "\n".join(lines)


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
    parser.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                        help="run student code with your own rights where bubblewrap cannot run (unsafe)")
    args = parser.parse_args(argv)
    if not (args.root / "submitted").is_dir():
        print(f"no submissions: {args.root / 'submitted'} does not exist. Collect them as "
              "submitted/<student>/<assignment>/<assignment>.ipynb, or run `make example-class` "
              "for a class of example students.", file=sys.stderr)
        return 1
    try:
        grade(args.root, args.assignments, args.student, args.force, args.jobs, args.timeout,
              args.notebook_timeout, sandbox=args.sandbox)
    except NoSandbox as err:
        print(err, file=sys.stderr)
        return 2
    from .export import export_csv

    rows = export_csv(args.root, args.root / args.csv)
    print(f"\nwrote {args.csv} and feedback/<student>/<assignment>/*.html\n")
    print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
