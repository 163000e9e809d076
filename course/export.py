"""Grades as CSV, telling "scored 0" from "could not be graded" and "needs manual grading".

nbgrader's own CSV shows a submission that failed to grade as an ordinary 0. This export
has nbgrader's columns plus ``status`` (graded, needs manual grading, could not be
graded, not submitted) and ``reason``, read from the ``grading.json`` that
``course/grade.py`` keeps beside each autograded notebook. ``nbgrader_config.py`` makes it
the exporter of ``nbgrader export`` too.
"""
from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from .gradebook import db_url
from .status import FAILED, GRADED, MANUAL, MISSING, read_status

COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
           "raw_score", "late_submission_penalty", "score", "max_score", "status", "reason"]


def grade_rows(gradebook: Gradebook, root: Path, assignments=(), students=()) -> list[dict]:
    """One row per (assignment, student) in the gradebook, in nbgrader's export order."""
    rows = []
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        for student in gradebook.students:
            if students and student.id not in students:
                continue
            row = {"assignment": assignment.name, "duedate": assignment.duedate or "",
                   "student_id": student.id, "last_name": student.last_name or "",
                   "first_name": student.first_name or "", "email": student.email or "",
                   "max_score": assignment.max_score}
            try:
                sub = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0,
                           status=MISSING, reason="")
            else:
                penalty = sub.late_submission_penalty or 0.0
                record = read_status(root, student.id, assignment.name) or {}
                status = record.get("status", GRADED)
                if status == GRADED and sub.needs_manual_grade:
                    status = MANUAL
                row.update(timestamp=sub.timestamp or "", raw_score=sub.score, late_submission_penalty=penalty,
                           score=max(0.0, sub.score - penalty), status=status,
                           reason="; ".join(record.get("reasons", [])))
                if status == FAILED:
                    row["score"] = row["raw_score"] = 0.0
            rows.append(row)
    return rows


def write_rows(rows: list[dict], dest: Path) -> None:
    with open(dest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def export_csv(root: Path, dest: Path, db: str | None = None) -> list[dict]:
    """Write ``dest`` from the gradebook of the course directory ``root`` (or the database
    ``db``, see ``course/gradebook.py``); return the rows."""
    with Gradebook(db_url(root, db)) as gb:
        rows = grade_rows(gb, Path(root))
    write_rows(rows, dest)
    return rows


class StatusCsvExportPlugin(ExportPlugin):
    """``nbgrader export`` with a status and a reason column (see the module docstring)."""

    def export(self, gradebook: Gradebook) -> None:
        root = Path(self.parent.coursedir.root) if self.parent is not None else Path.cwd()
        dest = Path(self.to or "grades.csv")
        rows = grade_rows(gradebook, root, [str(a) for a in self.assignment], [str(s) for s in self.student])
        self.log.info("Exporting grades to %s", dest)
        write_rows(rows, dest)
