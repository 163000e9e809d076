"""nbgrader preprocessors for the feedback students get: what failed and why, not the hidden tests.

nbgrader's feedback shows each test cell as it ran, hidden tests included, and a failing
hidden test's traceback quotes its code (nbgrader issues #917, #1363). Listed in
``nbgrader_config.py`` for ``generate_feedback``:

- :class:`HideHiddenTests` replaces the hidden part of every test cell by one comment line,
  and cuts the hidden tests' lines out of every output (a later cell can print an earlier
  cell's source from IPython's history).
- :class:`ShortenTracebacks` reduces a test cell's error to its last line, the check's
  message (``AssertionError: ... expected shape (6, 6), got (8, 8): ...``).

The feedback's Markdown goes through :func:`markdown2html`, which writes its math as
MathML: browsers draw MathML themselves, so the page needs no MathJax from a CDN and
reads the same offline (``course/feedback_templates`` drops nbgrader's MathJax script).
:class:`FeedbackExporter` writes the page.
"""
from __future__ import annotations

import re
from html import escape

from jinja2 import pass_context
from latex2mathml.converter import convert
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
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


def hidden_lines(source: str) -> list[str]:
    """The lines of ``source``'s hidden-test regions long enough to give something away."""
    kept = hide_hidden_tests(source).split("\n")
    return [ln.strip() for ln in source.split("\n") if ln not in kept and len(ln.strip()) >= 12]


def _scrub(text, lines):
    for line in lines:
        text = text.replace(line, "# ... hidden test ...")
    return text


class HideHiddenTests(NbGraderPreprocessor):
    """Take the hidden tests out of every test cell's source and out of every output."""

    def preprocess(self, nb, resources):
        secret = sorted({ln for c in nb.cells if c.cell_type == "code" and is_grade(c)
                         for ln in hidden_lines(c.source)}, key=len, reverse=True)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_grade(cell):
                cell.source = hide_hidden_tests(cell.source)
            for out in cell.outputs if secret else []:
                if "text" in out:
                    out.text = _scrub(out.text, secret)
                for mime, value in out.get("data", {}).items():
                    if mime.startswith("text/") and isinstance(value, str):
                        out.data[mime] = _scrub(value, secret)
                if "traceback" in out:
                    out.traceback = [_scrub(t, secret) for t in out.traceback]
        return nb, resources


class ShortenTracebacks(NbGraderPreprocessor):
    """Reduce a test cell's traceback to ``ename: evalue``: the message, not the test's code."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
        return cell, resources


def tex_to_mathml(tex: str, display: str = "inline") -> str:
    """``tex`` as a MathML ``<math>`` element; TeX that cannot be converted is shown as code."""
    try:
        return convert(tex, display=display)
    except Exception:  # noqa: BLE001 - one odd formula must not stop the feedback
        return f'<code class="tex">{escape(tex)}</code>'


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, with ``$...$``, ``$$...$$`` and LaTeX environments as MathML."""

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body)

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, "block")

    def latex_environment(self, name: str, body: str) -> str:
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")


@pass_context
def markdown2html(context, source: str) -> str:
    """The ``markdown2html`` filter of nbconvert's HTMLExporter, with the math as MathML."""
    cell = context.get("cell", {})
    path = context.get("resources", {}).get("metadata", {}).get("path", "")
    renderer = MathMLRenderer(escape=False, attachments=cell.get("attachments", {}), path=path)
    return MarkdownWithMath(renderer=renderer).render(source)


NO_ALT = re.compile(r"<img\b(?![^>]*\balt=)")
ALT = 'alt="No description has been provided for this image"'  # nbconvert's words


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter without the BeautifulSoup pass it ends with.

    That pass parses and rewrites the whole page (about half a second for a notebook's
    feedback, as long as the template takes) to give every picture without one an ``alt``
    text and to make the cells of JupyterLab's template focusable. The feedback template is
    nbconvert's classic one, which has no such cells: here the ``alt`` texts are added to
    the ``<img>`` tags directly, and the page is the same (tests/test_autograding.py).
    """

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node's filters, then the template (TemplateExporter's).
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return NO_ALT.sub(f"<img {ALT}", html), resources
