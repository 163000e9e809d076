"""nbgrader preprocessors for the feedback students get: what failed and why, not the hidden tests.

nbgrader's feedback shows each test cell as it ran, hidden tests included, and a failing
hidden test's traceback quotes its code (nbgrader issues #917, #1363). Listed in
``nbgrader_config.py`` for ``generate_feedback``:

- :class:`HideHiddenTests` replaces the hidden part of every test cell by one comment line.
- :class:`ShortenTracebacks` reduces a test cell's error to its last line, the check's
  message (``AssertionError: ... expected shape (6, 6), got (8, 8): ...``).
"""
from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_NOTE = "# ... hidden tests: the grader ran more checks here ..."


def hide_hidden_tests(source: str) -> str:
    """``source`` with every hidden-test region (an unclosed one runs to the end) replaced by a note."""
    lines, hidden = [], False
    for line in source.split("\n"):
        if BEGIN in line:
            hidden = True
            lines.append(line[:len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif END in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


class HideHiddenTests(NbGraderPreprocessor):
    """Take the hidden tests out of every test cell's source."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            cell.source = hide_hidden_tests(cell.source)
        return cell, resources


class ShortenTracebacks(NbGraderPreprocessor):
    """Reduce a test cell's traceback to ``ename: evalue``: the message, not the test's code."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
        return cell, resources
