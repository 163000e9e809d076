"""Staging a submission for nbgrader: copy it, mend what can be mended, say what was done.

The student's own folder is never changed: :func:`prepare` copies it to the staging folder
(``build/grading/submitted/``), leaves symbolic links out, takes a renamed notebook under
its right name, replaces an unreadable one (empty, not JSON, a format nbformat cannot read)
by the blank student version so that it scores 0, and applies the :data:`REPAIRS` to a
readable one. Each repair is a pure function ``repair(nb, blank) -> (nb, notes)``; the
notes go into a note cell at the top of the notebook, and from there into the feedback.
"""
from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell
from nbformat.v4.nbbase import random_cell_id

from .grading import grade_id

STAGE = "build/grading/submitted"
RELEASE = "build/release"
NOTE_CELL_ID = "grader-note"


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


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


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
        return None, f"{path.name} is {kind} ({last_line(str(err))[:200]})"
    if not isinstance(nb, dict) or "cells" not in nb:
        return None, f"{path.name} is not a notebook"
    return nb, None


def check_cells(nb, blank):
    """Notes on test cells deleted, edited or duplicated, and on cells run out of order
    (nbgrader itself puts the originals back and runs the cells in order)."""
    notes = []
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
    return nb, notes


VALID_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # nbformat 4.5's rule, which nbgrader enforces


def repair_cell_ids(nb, blank):
    """New ids for cells whose id nbformat would reject (nbgrader gives up on the notebook)."""
    nb, notes = copy.deepcopy(nb), []
    bad = [c for c in nb.cells if "id" in c and not (isinstance(c.id, str) and VALID_CELL_ID.fullmatch(c.id))]
    for cell in bad:
        cell.id = random_cell_id()
    if bad:
        notes.append(f"{len(bad)} cell id(s) were not valid notebook cell ids: the grader gave those cells new ones")
    return nb, notes


def restore_metadata(nb, blank):
    """Give each cell the grading metadata the blank version has for its grade id.

    nbgrader gives up on a whole notebook when one cell's metadata is malformed (a points
    value that is not a number, a newer schema version, a grade cell with no id), which
    would score the student's work 0. A cell whose metadata names no cell of the
    assignment becomes an ordinary cell; a test cell that thereby goes missing is put back.
    """
    nb, notes = copy.deepcopy(nb), []
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
    return nb, notes


def newer_format(nb, blank):
    """A notebook in a newer minor format than this nbformat's is read as the current one."""
    current = nbformat.current_nbformat_minor
    if nb.nbformat_minor <= current:
        return nb, []
    nb = copy.deepcopy(nb)
    note = (f"the notebook is in notebook format 4.{nb.nbformat_minor}, newer than this grader's "
            f"4.{current}: it was read as 4.{current}")
    nb.nbformat_minor = current
    return nb, [note]


#: What the grader mends in a readable notebook before nbgrader sees it, in this order:
#: each ``repair(nb, blank) -> (nb, notes)`` leaves its arguments alone.
REPAIRS = (newer_format, repair_cell_ids, restore_metadata, check_cells)


def repair(nb, blank):
    """Every repair of :data:`REPAIRS` in turn: the mended notebook and all their notes."""
    notes = []
    for step in REPAIRS:
        nb, more = step(nb, blank)
        notes += more
    return nb, notes


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
            if path.stat().st_size > 20 << 20:
                sub.notes.append(f"{path.name} held {path.stat().st_size >> 20} MB, mostly outputs: "
                                 "the grader cleared them")
            nb, notes = repair(nb, blank)
            sub.notes += notes
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
