"""The course on a real JupyterHub, handed in and graded through nbgrader's exchange (issue 22).

deploy/jupyterhub_config.py runs here with DummyAuthenticator and LocalProcessSpawner on
localhost ports, in a temporary folder, for three LOCAL Unix users made for the test (one
instructor, two students; removed afterwards). The hub must give the instructor's server the
formgrader and the students' servers only the assignment list. Then nbgrader's own commands,
run as those users (``runuser``), walk one assignment through the exchange: release, fetch,
answer (one student as the solution does, one with a mistake from tests/mistakes), submit,
collect, ``python -m course.grade`` (make grade), ``nbgrader generate_feedback``,
``release_feedback``, ``fetch_feedback``.

Needs root (to add users and to let the hub start servers as them), ``useradd``/``userdel``/
``runuser``, the ``jupyterhub`` package and ``configurable-http-proxy`` (npm; found on PATH or
in .venv/node, where ``npm install --prefix .venv/node configurable-http-proxy`` puts it).
Otherwise skipped with the reason printed.
"""
import csv
import json
import os
import pwd
import re
import runpy
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from course import ROOT
from course.build import assignments
from course.example_class import notebooks
from course.grading import replace_answer
from procs import free_port

DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
ASSIGNMENT = assignments()[0]
COURSE_ID = "cnn-course"
TOKEN = secrets.token_hex(16)


def _proxy() -> str | None:
    """configurable-http-proxy on PATH, else where `npm install --prefix .venv/node` puts it."""
    local = ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    return shutil.which("configurable-http-proxy") or (str(local) if os.access(local, os.X_OK) else None)


# Where the course's Python (a pyenv in /root) or the course itself (a clone in a 0700 mktemp
# folder) lies under a folder other users cannot enter, the users' commands and the hub (whose
# servers run as the users) run in a mount namespace of their own in which that folder is an
# empty tmpfs holding only what they need: nothing changes on the host.
def _blocked(target: Path) -> Path | None:
    """The outermost folder on the way to ``target`` that other users may not enter."""
    return next((f for f in [*reversed(target.parents), target][1:] if not f.stat().st_mode & 0o001), None)


def _namespace() -> list[str]:
    """The command prefix that lets other users run this Python and read the course (empty
    when they can): each target is bind-mounted aside, a tmpfs covers each blocking folder,
    and the targets are moved back into place under it."""
    targets = [t for t in dict.fromkeys((Path(sys.base_prefix).resolve(), ROOT.resolve())) if _blocked(t)]
    if not targets:
        return []
    q = lambda path: shlex.quote(str(path))  # noqa: E731
    aside = [f"S{i}=$(mktemp -d) && mount --bind {q(t)} \"$S{i}\"" for i, t in enumerate(targets)]
    cover = [f"mount -t tmpfs -o mode=0755 tmpfs {q(f)}" for f in dict.fromkeys(map(_blocked, targets))]
    back = [f"mkdir -p {q(t)} && mount --move \"$S{i}\" {q(t)} && rmdir \"$S{i}\"" for i, t in enumerate(targets)]
    script = " && ".join([*aside, *cover, *back, 'exec "$@"'])
    return [_sbin("unshare"), "--mount", "--propagation", "private", "sh", "-c", script, "sh"]


def _sbin(program: str) -> str | None:
    """``program`` on PATH or in the system folders a root shell has (PATH may lack /usr/sbin)."""
    return shutil.which(program, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))


def _missing() -> str | None:
    if not sys.platform.startswith("linux"):
        return "needs Linux (local Unix users)"
    if os.geteuid() != 0:
        return "needs root: it adds local users and the hub starts servers as them"
    for program in ("useradd", "userdel", "runuser", "unshare"):
        if _sbin(program) is None:
            return f"{program} is not installed"
    if not (BIN / "jupyterhub").exists() or not (BIN / "jupyterhub-singleuser").exists():
        return "jupyterhub is not installed (pip install jupyterhub)"
    if _proxy() is None:
        return ("configurable-http-proxy is not installed "
                "(npm install --prefix .venv/node configurable-http-proxy)")
    return None


def _others_cannot_run_python() -> str | None:
    """Why other users cannot run this Python with nbgrader, or None when they can. Asked by
    the first fixture, not at import: the probe takes a second, and every xdist worker imports
    this module."""
    probe = subprocess.run([*_namespace(), _sbin("runuser"), "-u", "nobody", "--", sys.executable, "-c", "import nbgrader"],
                           capture_output=True, text=True)
    if probe.returncode:
        return f"other users cannot run this Python ({sys.base_prefix}): {probe.stderr.strip()[-300:]}"
    return None


MISSING = _missing()
if MISSING:
    print(f"tests/test_hub.py skipped: {MISSING}", file=sys.stderr)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


class Place:
    """The users, the course folder, the exchange and the hub's folder of one test run."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.instructor, self.ana, self.ben = (f"cnn-{who}-{tag}" for who in ("teach", "ana", "ben"))
        self.users = []
        self.folder = Path(tempfile.mkdtemp(prefix="cnn-hub-"))
        self.folder.chmod(0o755)  # mkdtemp makes it 0700: the users must reach the course and exchange
        self.exchange = self.folder / "exchange"
        self.exchange.mkdir()
        self.exchange.chmod(0o777)  # what nbgrader asks of an exchange root
        self.course = self.folder / "course"
        self.hub_dir = self.folder / "hub"
        self.hub_dir.mkdir(mode=0o700)
        for user in (self.instructor, self.ana, self.ben):
            # Home folders 0700: Debian's useradd makes them 0755 (umask 022) unless told.
            subprocess.run([_sbin("useradd"), "--create-home", "--user-group", "--shell", "/bin/bash",
                            "--key", "HOME_MODE=0700", user], check=True, capture_output=True)
            self.users.append(user)
        self._course()

    def _course(self):
        """The first assignment in a course folder the instructor owns (as a clone of the course)."""
        self.course.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", self.course)
        for folder in (f"source/{ASSIGNMENT}", f"notebooks/{ASSIGNMENT}"):
            shutil.copytree(ROOT / folder, self.course / folder, ignore=shutil.ignore_patterns("__pycache__"))
        (self.course / "tests" / "mistakes").mkdir(parents=True)
        shutil.copy(ROOT / "tests" / "mistakes" / f"{ASSIGNMENT}.py", self.course / "tests" / "mistakes")
        self.chown(self.course, self.instructor)

    def home(self, user) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    def chown(self, path: Path, user: str):
        info = pwd.getpwnam(user)
        for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
            os.chown(p, info.pw_uid, info.pw_gid, follow_symlinks=False)

    def env(self, user: str) -> dict:
        """What the hub gives ``user``'s server (deploy/jupyterhub_config.py's per_role)."""
        staff = user == self.instructor
        env = {
            "HOME": str(self.home(user)), "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
            "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
            "JUPYTER_CONFIG_PATH": os.pathsep.join([str(DEPLOY / "jupyter" / ("instructor" if staff else "student")),
                                                    str(DEPLOY)]),
            "CNN_EXCHANGE": str(self.exchange),
        }
        if staff:
            env["CNN_COURSE_ROOT"] = str(self.course)
        return env

    def run(self, user: str, *cmd, check=True) -> subprocess.CompletedProcess:
        """``cmd`` as ``user``, in the course folder (instructor) or the home folder (students)."""
        cwd = self.course if user == self.instructor else self.home(user)
        env = [f"{k}={v}" for k, v in self.env(user).items()]
        proc = subprocess.run([*_namespace(), _sbin("runuser"), "-u", user, "--", "env", "-i", *env, *cmd], cwd=cwd,
                              capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} as {user} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def nbgrader(self, user: str, *args, check=True) -> subprocess.CompletedProcess:
        return self.run(user, str(BIN / "nbgrader"), *args, check=check)

    def nbgrader_each(self, users, *args) -> list[subprocess.CompletedProcess]:
        """The same nbgrader command run by each of ``users`` at the same time, as students do."""
        with ThreadPoolExecutor(len(users)) as pool:
            return list(pool.map(lambda user: self.nbgrader(user, *args), users))

    def remove(self):
        problems = []
        for user in self.users:
            proc = subprocess.run([_sbin("userdel"), "--remove", user], capture_output=True, text=True)
            if proc.returncode not in (0, 12):  # 12: the mail spool was missing, the user is gone
                problems.append(f"userdel {user}: {proc.stderr.strip()}")
        shutil.rmtree(self.folder, ignore_errors=True)
        assert not problems, problems


class Hub:
    """deploy/jupyterhub_config.py with DummyAuthenticator, on localhost ports of its own."""

    def __init__(self, place: Place):
        self.place = place
        self.port = free_port()
        config = place.hub_dir / "jupyterhub_config.py"
        config.write_text(f"""\
c = get_config()  # noqa
load_subconfig({str(DEPLOY / 'jupyterhub_config.py')!r})
# The test's changes: any password, localhost ports, state in this folder, and a token to drive it.
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.bind_url = "http://127.0.0.1:{self.port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{_proxy()!r}]
c.JupyterHub.db_url = "sqlite:///{place.hub_dir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{place.hub_dir}/jupyterhub_cookie_secret"
c.JupyterHub.services = [{{"name": "cnn-test", "api_token": {TOKEN!r}}}]
c.JupyterHub.load_roles = [{{"name": "cnn-test", "services": ["cnn-test"],
                            "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "tokens"]}}]
""")
        env = dict(os.environ, CNN_INSTRUCTORS=place.instructor, CNN_STUDENTS=f"{place.ana},{place.ben}",
                   CNN_COURSE_ROOT=str(place.course), CNN_EXCHANGE=str(place.exchange))
        env.pop("JUPYTER_CONFIG_PATH", None)
        env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
        self.log = open(place.hub_dir / "hub.log", "w+")
        self.process = subprocess.Popen([*_namespace(), str(BIN / "jupyterhub"), "-f", str(config)], cwd=place.hub_dir,
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.wait(lambda: self.get("/hub/api/")[0] == 200, "the hub never answered")

    def log_text(self) -> str:
        self.log.flush()
        return (self.place.hub_dir / "hub.log").read_text(errors="replace")[-5000:]

    def wait(self, ready, what, limit=180):
        deadline = time.monotonic() + limit  # a guard against a hang, not a measurement
        while True:
            assert self.process.poll() is None, f"the hub exited {self.process.returncode}:\n{self.log_text()}"
            try:
                if ready():
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            assert time.monotonic() < deadline, f"{what}:\n{self.log_text()}"
            time.sleep(0.5)

    def request(self, method, path, body=None, token=TOKEN):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     headers={"Authorization": f"token {token}"},
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def get(self, path, token=TOKEN):
        return self.request("GET", path, token=token)

    def token_of(self, user) -> str:
        """An API token of ``user``'s own, with a user's rights (what logging in gives)."""
        status, text = self.request("POST", f"/hub/api/users/{user}/tokens", {"note": "test_hub", "expires_in": 900})
        assert status == 201, (status, text)
        return json.loads(text)["token"]

    def start_server(self, user):
        status, text = self.request("POST", f"/hub/api/users/{user}/server")
        assert status in (201, 202), (status, text)

    def wait_ready(self, user):
        def ready():
            status, text = self.get(f"/hub/api/users/{user}")
            server = json.loads(text).get("servers", {}).get("", {}) if status == 200 else {}
            return server.get("ready")
        self.wait(ready, f"the server of {user} never became ready")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the hub stops the servers and the proxy it started
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def place():
    if reason := _others_cannot_run_python():
        pytest.skip(reason)
    made = Place()
    try:
        yield made
    finally:
        made.remove()


@pytest.fixture(scope="module")
def released(place):
    """The instructor has released the assignment to the exchange."""
    out = place.nbgrader(place.instructor, "release_assignment", ASSIGNMENT, "--course", COURSE_ID)
    assert (place.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file(), out.stderr
    return place


@pytest.fixture(scope="module")
def hub(released):
    running = Hub(released)
    try:
        yield running
    finally:
        running.stop()


def _page_config(html: str) -> dict:
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, html[:2000]
    return json.loads(found.group(1))


NBGRADER_PANELS = ("formgrader", "course-list", "create-assignment")


def test_the_hub_gives_instructors_the_formgrader_and_students_the_assignment_list(hub):
    place = hub.place
    status, text = hub.get("/hub/api/users")
    assert status == 200, text
    groups = {u["name"]: set(u["groups"]) for u in json.loads(text)}
    assert groups[place.instructor] == {"instructors"}
    assert groups[place.ana] == groups[place.ben] == {"students"}
    for user in (place.instructor, place.ana):
        hub.start_server(user)
    for user in (place.instructor, place.ana):
        hub.wait_ready(user)
    # The server extensions: /formgrader on the instructor's server only.
    status, text = hub.get(f"/user/{place.instructor}/formgrader/manage_assignments")
    assert status == 200 and "Manage Assignments" in text, (status, text[:500])
    status, _ = hub.get(f"/user/{place.ana}/formgrader/manage_assignments")
    assert status == 404
    # The student's assignment list reads the exchange the hub's config names: the release is there.
    status, text = hub.get(f"/user/{place.ana}/assignments?course_id={COURSE_ID}")
    assert status == 200, text
    listed = json.loads(text)
    assert listed["success"], listed
    assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [(ASSIGNMENT, "released")]
    # The JupyterLab panels.
    status, text = hub.get(f"/user/{place.ana}/lab")
    assert status == 200, text[:500]
    disabled = _page_config(text)["disabledExtensions"]
    for panel in NBGRADER_PANELS:
        assert f"@jupyter/nbgrader:{panel}" in disabled, (panel, disabled)
    for panel in ("assignment-list", "validate-assignment"):
        assert f"@jupyter/nbgrader:{panel}" not in disabled, (panel, disabled)
    status, text = hub.get(f"/user/{place.instructor}/lab")
    assert status == 200, text[:500]
    disabled = _page_config(text)["disabledExtensions"]
    assert not [d for d in disabled if d.startswith("@jupyter/nbgrader:")], disabled
    # The instructor's server opens in the course folder.
    status, text = hub.get(f"/user/{place.instructor}/api/contents/source")
    assert status == 200 and ASSIGNMENT in text, (status, text[:500])
    # With a student's own rights: their server, and not the instructor's (the course folder).
    ana = hub.token_of(place.ana)
    assert hub.get(f"/user/{place.ana}/api/contents", token=ana)[0] == 200
    status, text = hub.get(f"/user/{place.instructor}/api/contents/source", token=ana)
    assert status in (403, 404), (status, text[:500])


def _answer(place: Place, student: str, wrong: bool) -> None:
    """Put answers into the notebook ``student`` fetched: the solutions', or with one mistake."""
    path = place.home(student) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    fetched = nbformat.read(path, as_version=4)
    blank, solved = notebooks(place.course, ASSIGNMENT)
    assert [c.source for c in fetched.cells] == [c.source for c in blank.cells]  # the release is the student version
    if wrong:
        mistake = next(iter(runpy.run_path(str(place.course / "tests" / "mistakes" / f"{ASSIGNMENT}.py"))["MISTAKES"].values()))
        solved = replace_answer(solved, mistake["cell"], mistake["source"])
    nbformat.write(solved, path)
    place.chown(path, student)


def _read_as(place: Place, user: str, path: Path) -> str:
    """"read" when ``user`` can read ``path``, else the error's name (PermissionError, ...)."""
    code = ("import sys\ntry:\n    open(sys.argv[1], 'rb').read()\nexcept OSError as err:\n"
            "    print(type(err).__name__)\nelse:\n    print('read')")
    return place.run(user, sys.executable, "-c", code, str(path)).stdout.strip()


def test_release_fetch_submit_collect_grade_feedback(released):
    place = released
    students = (place.ana, place.ben)
    place.nbgrader_each(students, "fetch_assignment", ASSIGNMENT, "--course", COURSE_ID)
    for student in students:
        _answer(place, student, wrong=student == place.ben)
    place.nbgrader_each(students, "submit", ASSIGNMENT, "--course", COURSE_ID)

    # The exchange: students may write to inbound but not list it; each submission's folder is
    # named with a random string, so another student cannot find it. Home folders are private.
    inbound = place.exchange / COURSE_ID / "inbound"
    [ben_sub] = inbound.glob(f"{place.ben}+{ASSIGNMENT}+*")
    assert len(ben_sub.name.split("+")) == 4  # student+assignment+timestamp+random
    code = ("import os, sys\ntry:\n    print(os.listdir(sys.argv[1]))\nexcept PermissionError:\n    sys.exit(3)")
    assert place.run(place.ana, sys.executable, "-c", code, str(inbound), check=False).returncode == 3
    without_random = ben_sub.parent / ben_sub.name.rsplit("+", 1)[0]
    assert _read_as(place, place.ana, without_random / f"{ASSIGNMENT}.ipynb") == "FileNotFoundError"
    ben_copy = place.home(place.ben) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert _read_as(place, place.ana, ben_copy) == "PermissionError"
    assert _read_as(place, place.ben, ben_copy) == "read"

    # The instructor collects (nbgrader checks each submission belongs to its student) and grades.
    place.nbgrader(place.instructor, "collect", ASSIGNMENT, "--course", COURSE_ID)
    for student in students:
        assert (place.course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    probe = place.run(place.instructor, sys.executable, "-c",
                      "from course.sandbox import unavailable; print(unavailable() or '')")
    sandbox = [] if not probe.stdout.strip() else ["--no-sandbox"]
    if sandbox:
        print(f"grading without the sandbox as {place.instructor}: {probe.stdout.strip()}")
    place.run(place.instructor, sys.executable, "-m", "course.grade", ASSIGNMENT, "--root", str(place.course),
              "--timeout", "60", *sandbox)
    with open(place.course / "grades.csv") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == ASSIGNMENT}
    assert set(rows) == set(students)
    ana, ben = rows[place.ana], rows[place.ben]
    assert float(ana["max_score"]) > 0 and float(ana["score"]) == float(ana["max_score"]), ana
    assert float(ben["score"]) < float(ben["max_score"]), ben
    assert ana["status"] == ben["status"] == "graded", (ana, ben)

    place.nbgrader(place.instructor, "generate_feedback", ASSIGNMENT, "--force")
    place.nbgrader(place.instructor, "release_feedback", ASSIGNMENT, "--course", COURSE_ID)
    released_feedback = list((place.exchange / COURSE_ID / "feedback").glob("*.html"))
    assert len(released_feedback) == 2, released_feedback
    place.nbgrader_each(students, "fetch_feedback", ASSIGNMENT, "--course", COURSE_ID)
    pages = {}
    for student in students:
        [page] = (place.home(student) / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html")
        assert page.stat().st_uid == pwd.getpwnam(student).pw_uid
        pages[student] = page.read_text()
    # Each student's own feedback, with their own score.
    for student, row in ((place.ana, ana), (place.ben, ben)):
        score = re.search(r"Score: ([0-9.]+) / ([0-9.]+)", pages[student])
        assert score, pages[student][:1000]
        assert float(score.group(1)) == round(float(row["score"]), 2)
        assert float(score.group(2)) == round(float(row["max_score"]), 2)
    assert "### BEGIN HIDDEN TESTS" not in pages[place.ana]
    assert _read_as(place, place.ana, page) == "PermissionError"  # ben's fetched feedback, in ben's home
