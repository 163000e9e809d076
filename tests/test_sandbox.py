"""The grading kernel's sandbox (course/sandbox.py), one kernel at a time.

The whole class, attacks included, goes through ``make grade`` in tests/test_grade.py.
The kernel tests need bubblewrap (Debian package ``bubblewrap``; ``.ci/run`` installs it).
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

import cnnlib
import course.sandbox
from course import grade as grade_module
from course.autograding import GradingExecute
from course.sandbox import HOME, python_folders, sandbox_command, unavailable
from procs import sleeping

NO_SANDBOX = unavailable()
needs_bwrap = pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no bubblewrap sandbox here: {NO_SANDBOX}")
SECRET = "not-for-students-7f3a"


def test_python_folders_never_hold_the_working_folder(tmp_path, monkeypatch):
    """With the course root on sys.path (PYTHONPATH=. installs do that), only cnnlib is shown."""
    course_root = tmp_path / "course"
    work = course_root / "autograded" / "ada" / "00"
    work.mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(course_root))  # a venv in the course root would be fine...
    folders = python_folders(str(work))
    assert str(course_root) not in folders, "...but not the course root itself"
    assert os.path.dirname(cnnlib.__file__) in folders
    assert all(not str(work).startswith(f + os.sep) for f in folders), folders


def test_the_command_binds_nothing_of_the_course(tmp_path):
    work = tmp_path / "autograded" / "ada" / "00_convolution"
    work.mkdir(parents=True)
    (tmp_path / "gradebook.db").write_text("")
    cmd = sandbox_command(["python", "-m", "ipykernel_launcher"], work=str(work),
                          socket_dir=str(tmp_path / "sockets"), uid=1_000_123)
    sources = {cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind")}
    assert not any(str(tmp_path) == s or str(tmp_path).startswith(s + os.sep) for s in sources), sources
    writable = {cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--bind"}
    assert writable == {str(tmp_path / "sockets")}, "the sockets' folder is the only host folder written"
    for flag in ("--unshare-pid", "--unshare-net", "--die-with-parent", "--clearenv"):
        assert flag in cmd
    assert "--reuid=1000123" in cmd[-5] and "--nproc=256" in cmd[-5]


def _run(cells, tmp_path, timeout=20, **traits):
    """Execute ``cells`` in a grading kernel whose folder is ``tmp_path/course/autograded/ada/00``;
    return the text each cell printed."""
    work = tmp_path / "course" / "autograded" / "ada" / "00"
    work.mkdir(parents=True, exist_ok=True)
    (work / "data.txt").write_text("the student's own file")
    (work / "00.ipynb").write_text("### BEGIN HIDDEN TESTS")  # as nbgrader leaves it before running it
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    GradingExecute(timeout=timeout, kernel_name="python3", **traits).preprocess(nb, {"metadata": {"path": str(work)}})
    return ["".join(o.get("text", "") + o.get("evalue", "") for o in c.outputs) for c in nb.cells]


@needs_bwrap
def test_the_kernel_sees_its_own_copy_and_nothing_of_the_course(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DB_PASSWORD", SECRET)
    (tmp_path / "course" / "gradebook.db").parent.mkdir(parents=True)
    (tmp_path / "course" / "gradebook.db").write_text("grades")
    course_root = str(tmp_path / "course")
    out = _run([
        "import os, cnnlib; print(os.getcwd(), open('data.txt').read(), cnnlib.__name__, os.listdir())",
        f"print(os.path.exists({course_root!r}), os.path.exists({course_root!r} + '/gradebook.db'))",
        "print(dict(os.environ))",
        "open('data.txt', 'w').write('changed'); open('new.txt', 'w').write('x'); print('wrote')",
        "print(os.getuid() != 0, len([p for p in os.listdir('/proc') if p.isdigit()]))",
    ], tmp_path)
    assert out[0] == f"{HOME}/00 the student's own file cnnlib ['data.txt']\n", out[0]
    assert out[1] == "False False\n", "the course directory is visible in the sandbox"
    assert SECRET not in out[2] and "COURSE_DB_PASSWORD" not in out[2], out[2]
    assert out[3] == "wrote\n"
    work = tmp_path / "course" / "autograded" / "ada" / "00"
    assert (work / "data.txt").read_text() == "the student's own file" and not (work / "new.txt").exists(), \
        "the kernel's writes reached the host folder"
    not_root, processes = out[4].split()
    assert not_root == "True" or os.geteuid() != 0
    assert int(processes) <= 3, f"the kernel sees {processes} processes: not a PID namespace of its own"


@needs_bwrap
def test_the_kernel_prints_nothing_to_the_graders_terminal(tmp_path, capfd):
    assert _run(["print('in the notebook')"], tmp_path) == ["in the notebook\n"]
    out, err = capfd.readouterr()
    assert "Ctrl-C" not in out + err and "--existing" not in out + err, out + err


@needs_bwrap
def test_no_network_not_even_the_hosts_loopback(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted = []
    server.settimeout(10)
    thread = threading.Thread(target=lambda: accepted.append(_accept(server)), daemon=True)
    thread.start()
    out = _run(["import socket\ntry:\n    socket.create_connection(('127.0.0.1', %d), timeout=3)\n"
                "    print('connected')\nexcept OSError as err:\n    print(type(err).__name__)" % port], tmp_path)
    assert out[0] == "ConnectionRefusedError\n", out
    socket.create_connection(("127.0.0.1", port), timeout=3).close()  # the server does listen
    thread.join(10)
    server.close()
    assert accepted == ["the test itself"], accepted


def _accept(server):
    try:
        conn, _ = server.accept()
    except OSError:
        return "nothing"
    conn.close()
    return "the test itself"


@needs_bwrap
def test_limits_on_processes_and_disk(tmp_path):
    out = _run([
        "import os, time\nkids = []\ntry:\n    while len(kids) < 5000:\n        pid = os.fork()\n"
        "        if pid == 0:\n            time.sleep(30)\n            os._exit(0)\n        kids.append(pid)\n"
        "except OSError as err:\n    print(type(err).__name__, len(kids) < 300)",
        "def fill(path):\n    n = 0\n    try:\n        with open(path, 'wb') as fh:\n            while n < 2048:\n"
        "                fh.write(b'0' * (1 << 20)); n += 1\n    except OSError as err:\n"
        "        return f'{err.strerror} after {n} MiB'\nprint(fill('fill.bin'))\nprint(fill('/tmp/fill.bin'))",
    ], tmp_path, memory_limit_mb=0)
    assert out[0] == "BlockingIOError True\n", f"a fork bomb is not stopped: {out[0]}"
    sizes = [line for line in out[1].splitlines()]
    assert all(line.startswith("No space left on device after") for line in sizes), sizes
    assert all(int(line.split()[-2]) <= 256 for line in sizes), sizes


@needs_bwrap
def test_nothing_outlives_the_kernel(tmp_path):
    mark = "31415926"
    _run([f"import subprocess\nsubprocess.Popen(['sleep', '{mark}'], start_new_session=True)\nprint('started')"],
         tmp_path)
    assert not sleeping(mark), "a process of the sandbox outlived its kernel"


@needs_bwrap
def test_cpu_time_limit_ends_the_kernel(tmp_path):
    config = Config({"SandboxedKernelManager": {"cpu_seconds": 2}})
    out = _run(["while True:\n    pass", "print('not run')"], tmp_path, config=config, timeout=60)
    assert "kernel died" in out[0] and "not run" in out[1], out


@needs_bwrap
def test_the_sandbox_dies_with_the_grader(tmp_path):
    """A grader killed mid-notebook (kill -9) leaves no process of its sandbox behind."""
    mark = "27182818"
    script = (f"from nbformat.v4 import new_code_cell, new_notebook\n"
              f"from course.autograding import GradingExecute\n"
              f"nb = new_notebook(cells=[new_code_cell('import subprocess, time\\n"
              f"subprocess.Popen([\\'sleep\\', \\'{mark}\\'])\\ntime.sleep(600)')])\n"
              f"GradingExecute(kernel_name='python3', timeout=600).preprocess(nb, {{'metadata': {{'path': {str(tmp_path)!r}}}}})\n")
    grader = subprocess.Popen([sys.executable, "-c", script], cwd=os.path.dirname(os.path.dirname(__file__)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not sleeping(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sleeping(mark), "the notebook did not start its process"
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    deadline = time.monotonic() + 10
    while sleeping(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not sleeping(mark), "a sandbox process outlived the grader"




def test_grading_refuses_without_a_sandbox_on_linux(tmp_path, monkeypatch):
    monkeypatch.setattr(course.sandbox, "unavailable", lambda: "bwrap not found")
    monkeypatch.setattr(grade_module, "unavailable", lambda: "bwrap not found")
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(grade_module.NoSandbox, match="apt-get install bubblewrap"):
        grade_module.sandbox_note(True)
    assert "--no-sandbox was given" in grade_module.sandbox_note(False)


def test_grading_kernel_refuses_without_a_sandbox(tmp_path, monkeypatch):
    """``nbgrader autograde`` through the course's config stops too: no kernel starts."""
    import course.autograding

    monkeypatch.setattr(course.autograding, "unavailable", lambda: "bwrap not found")
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(RuntimeError, match="no sandbox for the grading kernel: bwrap not found"):
        GradingExecute(kernel_name="python3", start_attempts=1).preprocess(
            new_notebook(cells=[new_code_cell("1")]), {"metadata": {"path": str(tmp_path)}})
