"""JupyterLab smoke test: notebook 00 opened and run in a real JupyterLab in headless Chromium.

`jupyter lab` (this environment's) serves a temporary copy of notebooks/ and solutions/ on a
free local port with a token: JupyterLab autosaves, and it must never write into the
repository. In the student version the demo cells give the solution's outputs and the first
check cell fails (the untouched exercise raises NotImplementedError; with a flipped kernel
typed in, the check's hint says so); the solution notebook runs with no error.

nbgrader's tools, under the configuration of each make target (course/jupyter/<mode>, first in
JUPYTER_CONFIG_PATH): `make lab` gives students the Validate button, which runs a notebook's
checks, and nothing of the instructor's (no formgrader, course list or Create Assignment, in
the page or on the server); `make lab-instructor` gives all of them. One server per mode.
Skipped, like tests/test_browser.py, without Chromium.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit
from pathlib import Path

import nbformat
import pytest

from course import ROOT
from procs import free_port
from test_browser import LOCAL_HOSTS, SCREENSHOTS, browser  # noqa: F401  (browser: the headless Chromium fixture)

NOTEBOOK = "00_convolution/00_convolution.ipynb"
VALIDATED = "01_sparse_interactions/01_sparse_interactions.ipynb"   # untouched by the other tests
# JUPYTER_CONFIG_PATH of `make lab` (CONFIG / "student") and `make lab-instructor` (.../instructor).
CONFIG = ROOT / "course" / "jupyter"
NBGRADER = "@jupyter/nbgrader"
INSTRUCTOR_PLUGINS = {f"{NBGRADER}:{name}" for name in ("formgrader", "course-list", "create-assignment")}
# Off for students too: the assignment list needs an nbgrader exchange, which this course does
# not use, and the Nbgrader menu would only hold the instructor's items.
STUDENT_OFF = INSTRUCTOR_PLUGINS | {f"{NBGRADER}:assignment-list", f"{NBGRADER}:menu"}
VALIDATE = f"{NBGRADER}:validate-assignment"
INSTRUCTOR_ROUTES = ("formgrader", "formgraders")      # the formgrader's and the course list's
STUDENT_OFF_ROUTES = INSTRUCTOR_ROUTES + ("assignments",)   # ... and the assignment list's
INSTRUCTOR_MENU = {"Assignment List", "Course List", "Formgrader", "Create assignment"}
CREATE_ASSIGNMENT_TAB = ".lm-TabBar-tab[data-id='nbgrader-create_assignemnt']"   # (sic)
START_TIMEOUT = 60      # s for JupyterLab to answer, and for a kernel to be idle
RUN_TIMEOUT = 120       # s for "Run All Cells" to finish
# JupyterLab settings for the test: every cell in the DOM (no windowing), no news or update
# checks, which would reach out to the network.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification": '{"fetchNews": "false", "checkForUpdates": false}',
}

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"      # the notebook on show
KERNEL_IDLE = r"() => /\|\s*Idle\b/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')"
# Finished: the first code cell has run, none is queued or running, the kernel is idle.
RUN_FINISHED = r"""() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.innerText.trim());
  return prompts.length > 0 && /^\[\d+\]:$/.test(prompts[0]) && !prompts.some(p => p.includes('*'))
    && /\|\s*Idle\b/.test(document.querySelector('#jp-main-statusbar')?.innerText || '');
}"""
CELLS = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')].map(c => {
  const outputs = [...c.querySelectorAll('.jp-OutputArea-output')];
  const text = (mime) => outputs.filter(o => o.dataset.mimeType === mime).map(o => o.innerText).join('');
  const images = [...c.querySelectorAll('.jp-OutputArea-output img')];
  return {prompt: c.querySelector('.jp-InputPrompt')?.innerText.trim() || '',
          stdout: text('application/vnd.jupyter.stdout'), stderr: text('application/vnd.jupyter.stderr'),
          images: images.length, decoded: images.every(i => i.complete && i.naturalWidth > 0)};
})"""
FLIPPED_KERNEL = '''def correlate1d_valid(x, w):
    k = len(w)
    return np.array([x[i:i + k] @ w[::-1] for i in range(len(x) - k + 1)])
'''


def _serve(tmp_path_factory, mode, cwd=None):
    """A JupyterLab server under ``make lab``'s configuration (``mode`` "student") or ``make
    lab-instructor``'s ("instructor"), on a copy of the course's notebooks: yields (url, token).
    It runs in ``cwd``, by default the copy's folder."""
    tmp = tmp_path_factory.mktemp(f"lab-{mode}")
    root = tmp / "course"
    for folder in ("notebooks", "solutions"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name, text in SETTINGS.items():
        path = tmp / "settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(CONFIG / mode), JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp / "jupyterlab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(cmd, cwd=cwd or root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):  # noqa: F811
    """``make lab``'s JupyterLab. It runs in the repository's folder, as ``make lab`` does: the
    Validate button reads the course's nbgrader_config.py from there (and writes nothing)."""
    yield from _serve(tmp_path_factory, "student", cwd=ROOT)


@pytest.fixture(scope="module")
def lab_instructor(browser, tmp_path_factory):  # noqa: F811
    """``make lab-instructor``'s JupyterLab, in the copy's folder: the formgrader takes its working
    folder for the course directory (its gradebook.db goes there)."""
    yield from _serve(tmp_path_factory, "instructor")


def http_status(lab, path):
    """The status of a GET of ``path`` on the server ``lab``, with its token."""
    url, token = lab
    request = urllib.request.Request(f"{url}/{path}", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def page_config(page):
    return page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)")


def menu_bar(page):
    return page.locator(".lm-MenuBar-itemLabel").all_inner_texts()


def open_notebook(browser, lab, path, workspace):  # noqa: F811
    """A page showing ``path`` in its own workspace, its kernel idle; and the page's problems."""
    url, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: urlsplit(r.url).hostname not in LOCAL_HOSTS
            and urlsplit(r.url).scheme not in ("data", "blob")
            and problems.append(f"request to another host: {r.url}"))
    page.set_default_timeout(START_TIMEOUT * 1000)
    page.goto(f"{url}/lab/workspaces/{workspace}/tree/{path}?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    page.wait_for_function(KERNEL_IDLE)
    return page, problems


def menu(page, *labels):
    """Click the menu bar item ``labels[0]``, then the menu items that follow."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(labels[0])}$")).click()
    for label in labels[1:]:
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$")).click()


def run_all(page):
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(RUN_FINISHED, timeout=RUN_TIMEOUT * 1000)
    return page.evaluate(CELLS)


def screenshot(page, cell, name):
    """Save a screenshot with cell number ``cell`` in view to build/screenshots/NAME.png."""
    page.locator(f"{PANEL} .jp-Cell").nth(cell).scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def stored_outputs(cell):
    """What a stored code cell showed: its stdout and its number of pictures (figures, and the
    frames an animation's HTML player shows in an ``<img>``)."""
    stdout = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
    data = [o.get("data", {}) for o in cell.outputs]
    return stdout.strip(), sum("image/png" in d or d.get("text/html", "").count("<img") for d in data)


def assert_same_outputs(shown, cell, where):
    stdout, images = stored_outputs(cell)
    assert shown["stdout"].strip() == stdout, f"{where}: printed output differs from solutions/"
    assert shown["images"] == images and shown["decoded"], f"{where}: {shown['images']} figures, expected {images}"


def test_student_notebook_runs_to_its_first_check(browser, lab):  # noqa: F811
    student = nbformat.read(ROOT / "notebooks" / NOTEBOOK, as_version=4)
    solution = nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)
    graded = [i for i, c in enumerate(student.cells) if c.metadata.get("nbgrader", {}).get("grade")]
    first_check = graded[0]
    exercise = max(i for i, c in enumerate(student.cells[:first_check])
                   if c.metadata.get("nbgrader", {}).get("solution"))
    page, problems = open_notebook(browser, lab, f"notebooks/{NOTEBOOK}", "student")
    try:
        cells = run_all(page)
        assert len(cells) == len(student.cells)
        for i, (shown, cell) in enumerate(zip(cells[:first_check], solution.cells)):
            if cell.cell_type == "code":
                assert re.fullmatch(r"\[\d+\]:", shown["prompt"]), f"cell {i} did not run"
                assert not shown["stderr"], f"cell {i} failed:\n{shown['stderr']}"
                if i != exercise:
                    assert_same_outputs(shown, cell, f"demo cell {i}")
        check = cells[first_check]["stderr"]
        assert "NotImplementedError" in check and "correlate1d_valid" in check, check
        assert all(not re.search(r"\d", c["prompt"]) for c in cells[first_check + 1:]), \
            "Run All should stop at the failing check"

        # A plausible mistake typed into the exercise: the check's hint names it.
        page.locator(f"{PANEL} .jp-Cell").nth(exercise).locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(FLIPPED_KERNEL)
        page.keyboard.press("Shift+Enter")
        page.keyboard.press("Shift+Enter")
        page.wait_for_function(f"""() => /^\\[\\d+\\]:$/.test(document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')[{first_check}].querySelector('.jp-InputPrompt').innerText.trim())
            && ({RUN_FINISHED})()""", timeout=RUN_TIMEOUT * 1000)
        check = page.evaluate(CELLS)[first_check]["stderr"]
        screenshot(page, first_check, "lab-student")
        assert "AssertionError" in check and "you flipped the kernel" in check, check
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_solution_notebook_runs_without_error(browser, lab):  # noqa: F811
    solution = nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)
    page, problems = open_notebook(browser, lab, f"solutions/{NOTEBOOK}", "solution")
    try:
        cells = run_all(page)
        screenshot(page, 7, "lab-solution")
        assert len(cells) == len(solution.cells)
        for i, (shown, cell) in enumerate(zip(cells, solution.cells)):
            if cell.cell_type == "code":
                assert re.fullmatch(r"\[\d+\]:", shown["prompt"]), f"cell {i} did not run"
                assert not shown["stderr"], f"cell {i} failed:\n{shown['stderr']}"
                assert_same_outputs(shown, cell, f"cell {i}")
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_make_targets_use_these_configurations():
    """`make lab` and `make lab-instructor` start JupyterLab with the folders the tests below use."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_CONFIG_PATH", "MAKEFLAGS", "MAKELEVEL")}
    for target, mode in (("lab", "student"), ("lab-instructor", "instructor")):
        out = subprocess.run([make, "-n", "--no-print-directory", target], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True).stdout
        command = [line for line in out.splitlines() if "jupyter lab" in line]
        assert len(command) == 1 and f'JUPYTER_CONFIG_PATH="{CONFIG / mode}"' in command[0], out


def test_students_get_validate_and_no_instructor_tools(browser, lab):  # noqa: F811
    for route in STUDENT_OFF_ROUTES:
        assert http_status(lab, route) == 404, f"/{route} is served to students"
    assert http_status(lab, "nbgrader_version?version=0") == 200, "the Validate button's server side is off"
    student = nbformat.read(ROOT / "notebooks" / VALIDATED, as_version=4)
    checks = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    page, problems = open_notebook(browser, lab, f"notebooks/{VALIDATED}", "validate")
    try:
        config = page_config(page)
        assert NBGRADER in {e["name"] for e in config["federated_extensions"]}
        assert STUDENT_OFF <= set(config["disabledExtensions"]), config["disabledExtensions"]
        assert VALIDATE not in config["disabledExtensions"]
        assert "Nbgrader" not in menu_bar(page), menu_bar(page)
        assert page.locator(CREATE_ASSIGNMENT_TAB).count() == 0, "Create Assignment is in the sidebar"
        # The Validate button runs the notebook's checks, as the grader does the visible ones:
        # with every exercise untouched, every check fails.
        page.locator(f"{PANEL} .jp-NotebookPanel-toolbar .validate-button").click()
        message = page.wait_for_selector(".jp-Dialog #validation-message", timeout=RUN_TIMEOUT * 1000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "lab-validate.png")
        assert "validation-failed" in message.get_attribute("class"), message.inner_text()[:3000]
        text = message.inner_text()
        assert text.count("The following cell failed") == len(checks), text[:3000]
        assert "NotImplementedError" in text, text[:3000]
        page.keyboard.press("Escape")
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_instructors_get_formgrader_and_create_assignment(browser, lab_instructor):  # noqa: F811
    for route in INSTRUCTOR_ROUTES:
        assert http_status(lab_instructor, route) == 200, f"/{route} is not served to instructors"
    page, problems = open_notebook(browser, lab_instructor, f"notebooks/{NOTEBOOK}", "instructor")
    try:
        config = page_config(page)
        assert not {e for e in config["disabledExtensions"] if e.startswith(NBGRADER)}, config["disabledExtensions"]
        assert page.locator(".jp-NotebookPanel-toolbar", has_text="Validate").count() == 1
        page.locator(CREATE_ASSIGNMENT_TAB).click()
        page.wait_for_selector("#nbgrader-create_assignemnt:not(.lm-mod-hidden)")
        menu(page, "Nbgrader")
        items = page.locator(".lm-Menu-itemLabel").all_inner_texts()
        assert INSTRUCTOR_MENU <= set(items), items
        page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Formgrader$")).click()
        page.wait_for_function("""() => [...document.querySelectorAll('#formgrader iframe')].some(
            f => /Manage Assignments/.test(f.contentDocument?.body?.innerText || ''))""")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "lab-instructor.png")
        assert not problems, "\n".join(problems)
    finally:
        page.close()
