"""The gradebook in a real PostgreSQL server, and several graders sharing it (issue 22).

The server is started here, in a temporary folder, on a Unix socket only, as an
unprivileged user (``nobody`` when the tests run as root), and stopped afterwards. Where
``initdb`` or ``pg_ctl`` is missing, or psycopg is not installed, the tests are skipped
with the reason printed.
"""
import csv
import glob
import io
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from course import ROOT
from course.build import assignments
from course.example_class import bad_submissions, make_class, notebooks, write_submission
from course.export import export_csv
from course.gradebook import CLAIMS, Claims, masked
from course.grade import grade
from course.sandbox import unavailable
from procs import cell_timeout

ASSIGNMENT = assignments()[0]
SANDBOXED = unavailable() is None
PASSWORD = "pg-secret-7c2a9f"
BROKEN = ("kills_kernel", "sleeps_past_limit")  # beside the example class: 6 students
# (a sleep rather than a loop past the limit: the same reason through the database, without
# spinning a core for the cell time limit in each of the three gradings; tests/test_grade.py has the loop)


def _program(name: str) -> str | None:
    """``name`` on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (the newest)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return versions[-1] if versions else None


def _missing() -> str | None:
    for program in ("initdb", "pg_ctl"):
        if _program(program) is None:
            return f"{program} is not installed (Debian: apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    return None


MISSING = _missing()
if MISSING:
    print(f"tests/test_gradebook_db.py skipped: {MISSING}", file=sys.stderr)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


class Server:
    """A PostgreSQL server of its own, in a temporary folder, on a Unix socket only."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="cnn-pg-")
        self.data, self.socket = os.path.join(self.folder, "data"), os.path.join(self.folder, "sock")
        os.mkdir(self.socket)
        self.prefix = []
        if os.geteuid() == 0:  # initdb refuses root: the server runs as nobody
            user = pwd.getpwnam("nobody")
            for path in (self.folder, self.socket):
                os.chown(path, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "nobody", "--"]
        pwfile = os.path.join(self.folder, "pw")
        with open(pwfile, "w") as fh:
            fh.write(PASSWORD + "\n")
        if self.prefix:
            os.chown(pwfile, pwd.getpwnam("nobody").pw_uid, -1)
        self._run("initdb", "-D", self.data, "-U", "grader", "--pwfile", pwfile,
                  "--auth-local=scram-sha-256", "--auth-host=reject")
        os.unlink(pwfile)
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "log"), "-w", "start", "-o",
                  f"-c listen_addresses='' -c unix_socket_directories={self.socket} -c max_connections=100")

    def _run(self, *cmd):
        subprocess.run(self.prefix + [_program(cmd[0]), *cmd[1:]], check=True, capture_output=True,
                       cwd=self.folder)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://grader:{PASSWORD}@/{database}?host={self.socket}"

    def create(self, database: str) -> str:
        import psycopg

        with psycopg.connect(dbname="postgres", user="grader", password=PASSWORD, host=self.socket,
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        return self.url(database)

    def stop(self):
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    pg = Server()
    try:
        yield pg
    finally:
        pg.stop()


def _course(root):
    """A course directory holding the first assignment and a small class: the example
    class (a solution, a mistake, an untouched notebook, a renamed file) and two submissions
    that break grading (a kernel that dies, a cell that sleeps past the time limit)."""
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for folder in ("course", f"source/{ASSIGNMENT}", f"notebooks/{ASSIGNMENT}", "tests/mistakes"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    make_class(root)
    blank, solved = notebooks(root, ASSIGNMENT)
    broken = bad_submissions(solved, blank)
    for kind in BROKEN:
        write_submission(root, f"bad_{kind}", ASSIGNMENT, broken[kind])
    return root


def _rows(path):
    """The CSV's rows without the time they were graded at."""
    with open(path) as fh:
        return [{k: v for k, v in row.items() if k != "timestamp"} for row in csv.DictReader(fh)]


def _grade_once(root, url=None):
    log = io.StringIO()
    grade(root, timeout=cell_timeout(), notebook_timeout=120, jobs=2, out=log, sandbox=SANDBOXED, db=url,
          figures=False)  # as text: the database is what is tested here, and pictures double 00's time
    export_csv(root, root / "grades.csv", url)
    return _rows(root / "grades.csv"), log.getvalue()


def _no_password(root, *texts):
    for text in texts:
        assert PASSWORD not in text
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".csv", ".html", ".ipynb", ".log", ".txt"}:
            assert PASSWORD not in path.read_text(errors="replace"), path


def test_masked_hides_the_password():
    url = f"postgresql+psycopg://grader:{PASSWORD}@/cnn?host=/tmp/x"
    assert PASSWORD not in masked(url) and "grader" in masked(url)


@pytest.fixture(scope="module")
def sqlite_grades(tmp_path_factory):
    """The class graded by one process into SQLite: the grades every other way must give."""
    rows, _ = _grade_once(_course(tmp_path_factory.mktemp("sqlite") / "course"))
    reasons = {r["student_id"]: r["reason"] for r in rows}
    assert len(rows) == 4 + len(BROKEN) and {r["status"] for r in rows} == {"graded"}, rows
    assert "the kernel died" in reasons["bad_kills_kernel"] and "time limit" in reasons["bad_sleeps_past_limit"], reasons
    return rows


def test_postgres_gives_the_sqlite_grades(server, sqlite_grades, tmp_path):
    pg = _course(tmp_path / "postgres")
    rows_pg, log = _grade_once(pg, server.create("same_as_sqlite"))
    assert not (pg / "gradebook.db").exists()  # nothing went to SQLite
    assert rows_pg == sqlite_grades
    _no_password(pg, log)


def _descendants(pid):
    """Every process under ``pid`` (kernels start their own sessions, so killpg misses them)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_three_workers_one_killed_give_the_one_process_grades(server, sqlite_grades, tmp_path):
    shared = _course(tmp_path / "shared")
    url = server.create("three_workers")
    cmd = [sys.executable, "-m", "course.grade", "--root", str(shared), "--worker", "--timeout", str(cell_timeout()),
           "--notebook-timeout", "120", "--claim-timeout", "15", "--no-figures"] + ([] if SANDBOXED else ["--no-sandbox"])
    env = dict(os.environ, CNN_COURSE_DB=url)
    logs = [open(tmp_path / f"worker{i}.log", "w+") for i in range(3)]
    workers = [subprocess.Popen(cmd, cwd=shared, env=env, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    victim = workers[0]
    claims = None
    deadline = time.monotonic() + 1800  # a guard against a hang, not a measurement
    killed = None
    while killed is None:
        assert time.monotonic() < deadline, "the first worker never held a claim once another was done"
        assert victim.poll() is None, "the first worker ended before it could be killed"
        try:
            claims = claims or Claims(url, 15)
            rows = claims.rows()
        except Exception:  # noqa: BLE001 - the workers have not made the table yet
            rows = []
        # Killed mid-grading while the others work: once a grade is stored, the first worker is
        # stopped where it is (SIGSTOP: its claims cannot change while the table is read again)
        # and killed if it holds a claim, else let go on (it was between two claims).
        if any(r["state"] == "done" for r in rows):
            held = []
            os.kill(victim.pid, signal.SIGSTOP)
            try:
                held = [r for r in claims.rows()
                        if r["state"] == "claimed" and r["worker"].split(":")[1] == str(victim.pid)]
            finally:
                if not held:  # let it go on, also if the table could not be read
                    os.kill(victim.pid, signal.SIGCONT)
            if held:
                for pid in [victim.pid, *_descendants(victim.pid)]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                killed = held[0]
                continue
        time.sleep(0.2)
    victim.wait()
    for w in workers[1:]:
        assert w.wait() == 0
    rows = {(r["assignment"], r["student"]): r for r in claims.rows()}
    claims.dispose()
    assert all(r["state"] == "done" for r in rows.values())
    taken_over = rows[killed["assignment"], killed["student"]]
    assert taken_over["attempts"] == 2 and taken_over["worker"].split(":")[1] != str(victim.pid)
    assert all(r["attempts"] == 1 for k, r in rows.items() if r is not taken_over)  # none graded twice
    assert len(rows) == len(sqlite_grades)  # none missed
    export_csv(shared, shared / "grades.csv", url)
    assert _rows(shared / "grades.csv") == sqlite_grades
    texts = []
    for log in logs:
        log.seek(0)
        texts.append(log.read())
    _no_password(shared, *texts)
    assert "***" in texts[1]  # the URL printed masked
