"""nbgrader preprocessors that keep autograding going when a submission misbehaves.

nbgrader 0.9 drops a whole notebook when its kernel dies or ignores an interrupt, lets
a single cell run up to the per-cell limit as often as there are cells, keeps an output
of any size, and trusts NumPy and the check functions as the notebook left them. Listed
in ``nbgrader_config.py``:

- :class:`GradingExecute` runs the notebook under a memory limit and a time limit for
  the whole notebook; a dead or unresponsive kernel, or the time running out, ends the
  run at that cell with a readable error, and every later cell gets a "not run" error
  (so it scores 0) instead of the notebook being dropped. Its kernel talks over Unix
  sockets, so parallel grading runs cannot be given the same port, and a kernel that
  does not start is started again once. On Linux the kernel runs in a bubblewrap
  sandbox (:mod:`course.sandbox`); with ``sandbox = False`` it runs with the grader's
  own rights.
- :class:`InjectIntegrityChecks` / :class:`RemoveIntegrityChecks` record NumPy and the
  checks before the first cell and verify them at the end of every test cell
  (``course/integrity.py``), then take that code out again so that neither the
  autograded notebook nor the feedback shows it.
- :class:`WarningsCostNothing` shows what a test cell wrote to stderr (a NumPy
  ``RuntimeWarning``, a deprecation) as a warning box: nbgrader scores any stderr output
  0, so a right answer that warns would lose its points. Only an error fails a test.
- :class:`LimitOutputSize` truncates huge outputs (``LimitOutput`` only counts lines).
"""
from __future__ import annotations

import html
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade
from nbgrader.validator import Validator
from traitlets import Bool, Integer, List

from .sandbox import INSTALL_HINT, SandboxedKernelManager, unavailable

GUARD_CELL_ID = "grader-integrity-watch"
# course/integrity.py, run as code in the kernel: it defines watch(), whose verify the test cells call.
GUARD_SETUP = ("import builtins as _b\n_ns = {}\n"
               f"exec(compile({(Path(__file__).parent / 'integrity.py').read_text()!r}, 'grader-integrity', 'exec'), _ns)\n"
               "_b.__grader_verify__ = _ns['watch']()\ndel _b, _ns")
GUARD_CALL = "\n__grader_verify__(globals())  # added by the grader"


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output as nbgrader scores it (0 points), with a one-line traceback."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class GradingExecute(Execute):
    """nbgrader's Execute with a memory limit, a whole-notebook time limit, and no lost notebooks.

    ``Execute.timeout`` stays the per-cell limit; a cell that does not stop when
    interrupted at that limit, a kernel that dies (``os._exit``, a crash, memory), or
    the notebook running past ``notebook_timeout`` stops the run there: that cell gets
    an error naming the reason and every later code cell a "not run" error.
    """

    notebook_timeout = Integer(
        300, help="Seconds the whole notebook may run (0: no limit); later cells are not run."
    ).tag(config=True)

    memory_limit_mb = Integer(
        4096, help="Address-space limit of the grading kernel in MiB (0: no limit)."
    ).tag(config=True)

    start_attempts = Integer(
        2, help="Times a notebook's kernel is started before its grading is given up."
    ).tag(config=True)

    sandbox = Bool(
        True, help="Run the kernel in a bubblewrap sandbox (Linux; grading refuses to start when "
        "bwrap cannot make one). False: the kernel runs with the grader's own rights."
    ).tag(config=True)

    figures = Bool(
        True, help="Show the notebook's figures as pictures in the autograded notebook and the feedback. "
        "False: each shows as its line of text ('<Figure size 640x480 with 1 Axes>') and none is drawn "
        "(cnnlib's animations neither), "
        "which makes grading faster; scores are the same."
    ).tag(config=True)

    _socket_dir = None  # of the current kernel's Unix sockets

    def preprocess(self, nb, resources=None, km=None):
        self.timeout_func = self._cell_timeout
        for attempt in range(1, self.start_attempts + 1):
            # The clock starts at the first cell, not the kernel.
            self._stopped = self._deadline = None
            try:
                return super().preprocess(nb, resources, km)
            except Exception as err:  # noqa: BLE001 - only before the first cell: nothing ran twice
                if self._deadline is not None or attempt == self.start_attempts:
                    raise
                self.log.warning("The grading kernel did not start (%s); starting another", err)
            finally:
                if self._socket_dir:  # the kernel is shut down by now
                    shutil.rmtree(self._socket_dir, ignore_errors=True)
                    self._socket_dir = None
        raise AssertionError("unreachable")

    def create_kernel_manager(self):
        """A kernel on Unix sockets of its own folder, where there are Unix sockets.

        Over TCP, kernels started at the same moment by parallel grading runs can be given
        the same free port, and one of them dies at start-up (a random port is found free,
        closed, then bound by the kernel).
        """
        sandboxed = self.sandbox and sys.platform.startswith("linux")
        if sandboxed:
            reason = unavailable()
            if reason:
                raise RuntimeError(f"no sandbox for the grading kernel: {reason}; {INSTALL_HINT}")
            self.kernel_manager_class = SandboxedKernelManager
        elif self.sandbox:
            self.log.warning("The grading kernel runs WITHOUT a sandbox: %s", unavailable())
        km = super().create_kernel_manager()
        if os.name == "posix":
            self._socket_dir = tempfile.mkdtemp(prefix="grading-kernel-")
            km.transport, km.ip = "ipc", os.path.join(self._socket_dir, "kernel")
            if sandboxed:  # the one folder the sandbox shares with the host
                km.connection_file = os.path.join(self._socket_dir, "kernel.json")
        return km

    async def async_start_new_kernel(self, **kwargs):
        # Run inside the kernel at start-up, before any cell of the notebook.
        setup = []
        if limit := self.memory_limit_mb << 20:
            setup.append(f"import resource as _r; _r.setrlimit(_r.RLIMIT_AS, ({limit}, {limit})); del _r")
        if not self.figures:  # matplotlib's inline backend then shows a figure as text
            setup.append("get_ipython().run_line_magic('config', 'InlineBackend.figure_formats = set()')")
        argument = "--IPKernelApp.exec_lines=" + "; ".join(setup)
        if setup and argument not in self.extra_arguments:  # once, however often the kernel starts
            self.extra_arguments = [*self.extra_arguments, argument]
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    def _remaining(self) -> float:
        return float("inf") if self._deadline is None else self._deadline - time.monotonic()

    def _cell_timeout(self, cell) -> int | None:
        """nbclient's ``timeout_func``: the per-cell limit, cut to what the notebook has left."""
        timeout = self.timeout if self.timeout and self.timeout > 0 else None
        remaining = self._remaining()
        if remaining == float("inf"):
            return timeout
        return max(1, math.ceil(min(timeout or remaining, remaining)))  # never before the deadline

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._deadline is None and self.notebook_timeout > 0:
            self._deadline = time.monotonic() + self.notebook_timeout
        if self._stopped is None and self._remaining() <= 0:
            self._stopped = f"the notebook used up its time limit of {self.notebook_timeout} s"
        if self._stopped is not None:
            cell.outputs = [error_output("NotRun", f"this cell was not run: {self._stopped}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            cell.outputs.append(error_output(
                "KernelDied", "the kernel died while this cell ran (os._exit, a crash, or memory "
                "exhausted); the cells below were not run"))
            self._stopped = "the kernel died in an earlier cell"
        except CellTimeoutError:
            run_sync(self.km.shutdown_kernel)(now=True)
            cell.outputs.append(error_output(
                "CellTimeoutError", f"this cell ran past the time limit ({self._cell_timeout(cell)} s) "
                "and did not stop when interrupted; the cells below were not run"))
            self._stopped = "an earlier cell did not stop when interrupted"
        return cell, resources


class InjectIntegrityChecks(NbGraderPreprocessor):
    """Before execution: record NumPy and the checks first, verify them in every test cell."""

    def preprocess(self, nb, resources):
        nb.cells.insert(0, new_code_cell(GUARD_SETUP, id=GUARD_CELL_ID))
        for cell in nb.cells:
            if cell.cell_type == "code" and is_grade(cell):
                cell.source += GUARD_CALL
        return nb, resources


class RemoveIntegrityChecks(NbGraderPreprocessor):
    """After execution: take out what :class:`InjectIntegrityChecks` put in."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if c.get("id") != GUARD_CELL_ID]
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.source.endswith(GUARD_CALL):
                cell.source = cell.source[:-len(GUARD_CALL)]
        return nb, resources


WARNING_STYLE = "background:#fff8e1;border-left:4px solid #f0a500;padding:4px 8px;margin:0;white-space:pre-wrap"


def warning_output(text: str) -> NotebookNode:
    """What a test cell wrote to stderr, as a warning that does not fail the test."""
    title = "Warning (it costs no points; only a failed check does):"
    return new_output("display_data", data={
        "text/plain": f"{title}\n{text}",
        "text/html": f'<pre style="{WARNING_STYLE}"><b>{title}</b>\n{html.escape(text)}</pre>',
    })


class WarningsCostNothing(NbGraderPreprocessor):
    """In test cells, stderr output becomes a warning box: nbgrader gives 0 for any stderr.

    Errors stay errors, and a test cell still scores 0 when it raises.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            cell.outputs = [warning_output(o.text) if o.output_type == "stream" and o.name == "stderr" else o
                            for o in cell.outputs]
        return cell, resources


class LimitOutputSize(NbGraderPreprocessor):
    """Cut every text output longer than ``max_chars`` characters (a 50 MB line included), and
    leave out larger rich outputs whole: an image, or HTML (an animation's player) cut in the
    middle would leave an unclosed tag that swallows the rest of the feedback page."""

    max_chars = Integer(100_000, help="Largest text or data output kept, in characters.").tag(config=True)

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[:self.max_chars] + f"\n... output truncated: {len(text):,} characters in all ..."

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.outputs:
            if "text" in output:
                output.text = self._cut(output.text)
            if "data" in output:
                kept = {mime: self._cut(value) if mime == "text/plain" else value
                        for mime, value in output.data.items()
                        if mime == "text/plain" or len(str(value)) <= self.max_chars}
                output.data = kept or {"text/plain": "... output removed: larger than the grader keeps ..."}
        return cell, resources


class CourseValidator(Validator):
    """nbgrader's Validator (the Validate button, ``nbgrader validate``) with the grader's rule
    that a warning on stderr does not fail a check. ``nbgrader_config.py`` puts it in place
    of nbgrader's, which no configuration option reaches."""

    preprocessors = List([CheckCellMetadata, ClearOutput, Execute, WarningsCostNothing])


def use_course_validator() -> None:
    """Point nbgrader's two users of ``Validator`` (the CLI and the Lab button) at :class:`CourseValidator`."""
    for module in ("nbgrader.apps.validateapp", "nbgrader.server_extensions.validate_assignment.handlers"):
        if module in sys.modules:
            sys.modules[module].Validator = CourseValidator
