"""The grading preprocessors and the tamper check course.integrity.watch, one piece at a time (no nbgrader run)."""
import re
import time
from pathlib import Path

import numpy as np
import pytest
from jupyter_core.utils import run_sync
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import cnnlib.testing
from course import integrity
from course.autograding import GradingExecute, LimitOutputSize
from course.feedback import HIDDEN_NOTE, hide_hidden_tests


def _errors(cell):
    return [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"]


def test_notebook_time_limit_stops_later_cells(tmp_path):
    sources = ["import time", "time.sleep(60)", "print('late')", "print('later')"]
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    start = time.monotonic()
    GradingExecute(timeout=30, notebook_timeout=4, kernel_name="python3").preprocess(
        nb, {"metadata": {"path": str(tmp_path)}})
    assert time.monotonic() - start < 20, "the notebook limit did not cut the 60 s cell short"
    assert _errors(nb.cells[0]) == []
    assert "KeyboardInterrupt" in [e for e, _ in _errors(nb.cells[1])]
    assert [_errors(c)[0][0] for c in nb.cells[2:]] == ["NotRun", "NotRun"]
    assert "time limit of 4 s" in _errors(nb.cells[3])[0][1]


def test_memory_limit_raises_memory_error_in_the_cell(tmp_path):
    nb = new_notebook(cells=[new_code_cell("import numpy as np\nbig = np.ones((50_000, 50_000))"),
                             new_code_cell("print('still alive')")])
    GradingExecute(timeout=30, memory_limit_mb=1024, kernel_name="python3").preprocess(
        nb, {"metadata": {"path": str(tmp_path)}})
    assert _errors(nb.cells[0])[0][0] == "MemoryError"
    assert nb.cells[1].outputs[0].text == "still alive\n"


def test_limit_output_size_cuts_long_text_and_drops_big_images_and_html():
    cell = new_code_cell("", outputs=[
        new_output("stream", name="stdout", text="x" * 1000),
        new_output("display_data", data={"text/plain": "<Figure>", "image/png": "A" * 1000}),
        new_output("display_data", data={"text/plain": "<HTML object>", "text/html": "<div><img src='" + "A" * 1000}),
    ])
    LimitOutputSize(max_chars=100).preprocess_cell(cell, {}, 0)
    assert len(cell.outputs[0].text) < 200 and "1,000 characters in all" in cell.outputs[0].text
    assert cell.outputs[1].data == {"text/plain": "<Figure>"}
    assert cell.outputs[2].data == {"text/plain": "<HTML object>"}, "HTML cut mid-tag would break the page"


def test_hidden_tests_printed_by_a_later_cell_are_cut_from_the_feedback():
    from course.feedback import HideHiddenTests

    info = {"grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "t", "schema_version": 3}
    test = new_code_cell("check(1)\n### BEGIN HIDDEN TESTS\nsecret_check(2, 'x')\n### END HIDDEN TESTS",
                         metadata={"nbgrader": info})
    later = new_code_cell("print(_ih[-2])", outputs=[
        new_output("stream", name="stdout", text="check(1)\nsecret_check(2, 'x')\n")])
    nb = new_notebook(cells=[test, later])
    HideHiddenTests().preprocess(nb, {})
    assert "secret_check" not in nb.cells[1].outputs[0].text and "check(1)" in nb.cells[1].outputs[0].text


def test_hide_hidden_tests_keeps_visible_checks():
    source = 'check(1)\n### BEGIN HIDDEN TESTS\nsecret(2)\n### END HIDDEN TESTS\nafter(3)'
    assert hide_hidden_tests(source) == f"check(1)\n{HIDDEN_NOTE}\nafter(3)"
    assert "secret" not in hide_hidden_tests("a\n    ### BEGIN HIDDEN TESTS\n    secret()")  # unclosed


@pytest.fixture
def verify():
    return integrity.watch()


def test_watch_passes_an_untouched_session(verify):
    verify({"np": np, "check_close": cnnlib.testing.check_close})


@pytest.mark.parametrize("module,name", [(np, "allclose"), (np.testing, "assert_allclose"),
                                         (cnnlib, "conv2d"), (cnnlib.testing, "_fail")])
def test_watch_names_a_replaced_function(verify, module, name):
    original = getattr(module, name)
    setattr(module, name, lambda *a, **k: True)
    try:
        with pytest.raises(AssertionError, match=name):
            verify({})
    finally:
        setattr(module, name, original)
    verify({})


def test_watch_sees_swapped_code_and_notebook_names(verify):
    def fake(*args, **kwargs):
        return None

    original = cnnlib.testing.check_shape.__code__
    cnnlib.testing.check_shape.__code__ = fake.__code__
    try:
        with pytest.raises(AssertionError, match="check_shape"):
            verify({})
    finally:
        cnnlib.testing.check_shape.__code__ = original
    with pytest.raises(AssertionError, match="the notebook's check_close"):
        verify({"check_close": fake})


def test_grading_kernel_uses_unix_sockets_of_its_own(tmp_path):
    nb = new_notebook(cells=[new_code_cell(
        "from ipykernel.kernelapp import IPKernelApp\napp = IPKernelApp.instance()\n"
        "print(app.transport, app.ip)")])
    execute = GradingExecute(timeout=30, kernel_name="python3")
    execute.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    transport, ip = nb.cells[0].outputs[0].text.split()
    assert transport == "ipc" and ip.endswith("/kernel") and "grading-kernel-" in ip
    assert not Path(ip).parent.exists(), "the kernel's socket folder was left behind"


class _FlakyStart(GradingExecute):
    """Its first kernel dies at start-up, as one that lost a port race does."""

    starts = 0

    async def async_start_new_kernel(self, **kwargs):
        type(self).starts += 1
        if type(self).starts == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)


def test_a_kernel_that_does_not_start_is_started_again(tmp_path):
    nb = new_notebook(cells=[new_code_cell("print(6 * 7)")])
    _FlakyStart(timeout=30, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert _FlakyStart.starts == 2
    assert nb.cells[0].outputs[0].text == "42\n"


def test_a_kernel_that_never_starts_fails_the_notebook(tmp_path):
    class NeverStarts(GradingExecute):
        async def async_start_new_kernel(self, **kwargs):
            raise RuntimeError("no kernel today")

        start_new_kernel = run_sync(async_start_new_kernel)

    with pytest.raises(RuntimeError, match="no kernel today"):
        NeverStarts(timeout=30, kernel_name="python3").preprocess(
            new_notebook(cells=[new_code_cell("1")]), {"metadata": {"path": str(tmp_path)}})


def _markdown_html(markdown: str) -> str:
    """``markdown`` rendered by nbconvert's HTMLExporter with the feedback's markdown2html."""
    exporter = HTMLExporter(filters={"markdown2html": "course.feedback.markdown2html"}, template_name="classic")
    body, _ = exporter.from_notebook_node(new_notebook(cells=[new_markdown_cell(markdown)]))
    return body[body.index('<div class="text_cell_render'):]


def test_feedback_writes_math_as_mathml():
    body = _markdown_html("Inline $a_1 + b$ and `code $x$`.\n\n$$\\frac{1}{2}$$\n\n"
                          "\\begin{equation}y = x^2\\end{equation}")
    inline, block = re.findall(r"<math[^>]*>.*?</math>", body, re.S)[0], re.findall(r'<math[^>]*display="block"', body)
    assert "<msub><mi>a</mi><mn>1</mn></msub>" in inline and 'display="inline"' in inline
    assert len(block) == 2, "$$...$$ and the equation environment are display math"
    assert "<code>code $x$</code>" in body, "a $ in code is not math"
    assert "$" not in body.replace("<code>code $x$</code>", ""), "TeX left for MathJax"


def test_feedback_shows_tex_it_cannot_convert_as_code():
    body = _markdown_html("broken $x^$ formula")
    assert '<code class="tex">x^</code>' in body and "<math" not in body


def test_stderr_in_a_test_cell_is_a_warning_not_a_failure():
    """nbgrader scores a test cell with any stderr output 0; an error still fails it."""
    from nbgrader.utils import determine_grade

    from course.autograding import WarningsCostNothing

    info = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "t", "schema_version": 3}
    warned = new_code_cell("", metadata={"nbgrader": info}, outputs=[
        new_output("stream", name="stderr", text="RuntimeWarning: divide by zero <x>\n")])
    failed = new_code_cell("", metadata={"nbgrader": info}, outputs=[
        new_output("stream", name="stderr", text="RuntimeWarning: divide by zero\n"),
        new_output("error", ename="AssertionError", evalue="wrong", traceback=[])])
    assert determine_grade(warned) == (0, 2), "nbgrader's own rule changed: this preprocessor may be moot"
    for cell in (warned, failed):
        WarningsCostNothing().preprocess_cell(cell, {}, 0)
    assert determine_grade(warned) == (2, 2) and determine_grade(failed) == (0, 2)
    assert "divide by zero &lt;x&gt;" in warned.outputs[0].data["text/html"]


def test_feedback_exporter_writes_the_page_nbconvert_writes(tmp_path):
    """course.feedback.FeedbackExporter leaves out HTMLExporter's closing BeautifulSoup pass and
    does what it does to a feedback page itself: the same page, every picture with one alt text."""
    from bs4 import BeautifulSoup
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from course import ROOT
    from course.feedback import FeedbackExporter

    # The exporters' configuration as nbgrader generate_feedback makes it from the course's.
    course = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    config = GenerateFeedback(coursedir=CourseDirectory(root=str(tmp_path)), config=course).config
    assert config.GenerateFeedback.exporter_class is FeedbackExporter
    nb = new_notebook(cells=[
        new_markdown_cell("# Title\n\nMath $x^2$ and ![a drawing](data:image/png;base64,AAAA)"),
        new_code_cell("plt.plot(x)", execution_count=1, outputs=[
            new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
            new_output("stream", name="stdout", text="<b>not a tag</b> & more\n")]),
        new_code_cell("check(f)", execution_count=2, metadata={"nbgrader": {
            "grade": True, "solution": False, "locked": True, "grade_id": "test_f", "points": 2, "score": 0,
            "comment": None, "task": False, "schema_version": 3}}, outputs=[
            new_output("error", ename="AssertionError", evalue="expected 1", traceback=["AssertionError: expected 1"])]),
    ])
    resources = {"nbgrader": {"notebook": "00_demo", "score": 0, "max_score": 2, "late_penalty": 0}}
    ours, _ = FeedbackExporter(config=config).from_notebook_node(nb, resources)
    theirs, _ = HTMLExporter(config=config).from_notebook_node(nb, resources)
    assert "Score: 0.0 / 2.0" in ours and "<math" in ours, "not the course's feedback page"
    assert BeautifulSoup(ours, "html.parser") == BeautifulSoup(theirs, "html.parser")
    images = re.findall(r"<img\b[^>]*>", ours)
    assert len(images) == 2 and all(tag.count(" alt=") == 1 for tag in images), images
    assert 'alt="a drawing"' in ours
