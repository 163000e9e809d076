"""What grading found, in words: each submission's status and reasons, and the class summary.

``grading.json`` beside each autograded notebook records the status (graded, needs manual
grading, could not be graded) and the reasons; ``course/export.py`` reads it into
``grades.csv``, and :func:`summary` prints the student x assignment table.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat

from .gradebook import db_url
from .staging import Submission

STATUS_FILE = "grading.json"
GRADED, MANUAL, FAILED, MISSING = "graded", "needs manual grading", "could not be graded", "not submitted"
# Errors that GradingExecute and the integrity checks write into a cell, and what they mean.
STOPS = {
    "KernelDied": "the kernel died in cell {n} ({where}); the cells after it were not run",
    "CellTimeoutError": "cell {n} ({where}) ran past the time limit",
    "MemoryError": "cell {n} ({where}) ran out of memory",
}


def _cell_label(cell) -> str:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    return gid or cell.source.strip().split("\n")[0][:40]


def outcome(root: Path, sub: Submission, notebooks: list[str], db: str | None = None) -> dict:
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
    with Gradebook(db_url(root, db)) as gb:
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


def _score(record) -> str:
    if record.get("score") is None:
        return "-"
    return f"{record['score']:g}/{record['max_score']:g}"


def progress_line(done: int, total: int, record: dict) -> str:
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
