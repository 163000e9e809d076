"""Where the gradebook lives, and how several graders share it.

The gradebook is nbgrader's database. By default it is ``<course>/gradebook.db``
(SQLite); ``--db URL`` or the environment variable ``CNN_COURSE_DB`` point every part
of the grader (nbgrader's API, the status, the export) at another one, e.g. a
PostgreSQL server shared by several grading machines::

    CNN_COURSE_DB='postgresql+psycopg://grader:PASSWORD@db.example.org/cnn' make grade

:func:`masked` is the only form in which a URL is ever printed: the password is hidden.

Several graders (``python -m course.grade --worker``, started on any number of
machines that share the course folder and the database) grade one class together
through :class:`Claims`, a small table of this course's own in the same database: each
worker claims the next ungraded submission in a short transaction (PostgreSQL:
``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite: ``BEGIN IMMEDIATE``, one writer at a
time), keeps its claim alive with a heartbeat while it grades, and marks it done. A
claim whose heartbeat is older than the timeout belonged to a worker that died: the
next worker takes it over.
"""
from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ENV = "CNN_COURSE_DB"
CLAIMS = "cnn_grading_claims"
SETUP = "cnn_grading_setup"


def db_url(root: Path, url: str | None = None) -> str:
    """``url``, else ``$CNN_COURSE_DB``, else the SQLite file ``<root>/gradebook.db``."""
    return url or os.environ.get(ENV) or f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


def masked(url: str) -> str:
    """The URL with its password replaced by ``***``: the only form that is printed."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy can read: print none of it
        return "<database URL>"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Claims:
    """The claims table: one row per (assignment, student, fingerprint) to grade.

    ``state`` is ``claimed`` or ``done``; ``heartbeat`` and ``done_at`` are seconds since
    the epoch by the database's clock (PostgreSQL) or this machine's (SQLite, which is
    only ever shared on one machine); ``attempts`` counts the claims of a row.
    """

    def __init__(self, url: str, timeout: float = 120.0):
        from sqlalchemy import create_engine

        self.url, self.timeout = url, timeout
        self.sqlite = is_sqlite(url)
        if self.sqlite:  # explicit BEGIN IMMEDIATE, so no implicit transactions of the driver
            self.engine = create_engine(url, isolation_level="AUTOCOMMIT",
                                        connect_args={"timeout": 60})
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        for attempt in range(5):  # two workers creating the tables at once: one fails, tries again
            try:
                self._create_tables()
                break
            except Exception:  # noqa: BLE001
                if attempt == 4:
                    raise
                time.sleep(0.5 + attempt)

    def _create_tables(self) -> None:
        with self.transaction() as conn:
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {CLAIMS} (assignment VARCHAR(128) NOT NULL, "
                "student VARCHAR(128) NOT NULL, fingerprint VARCHAR(64) NOT NULL, "
                "state VARCHAR(16) NOT NULL, worker VARCHAR(200), heartbeat DOUBLE PRECISION, "
                "done_at DOUBLE PRECISION, attempts INTEGER NOT NULL DEFAULT 0, "
                "PRIMARY KEY (assignment, student, fingerprint))")
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {SETUP} (assignment VARCHAR(128) PRIMARY KEY, "
                "source VARCHAR(64) NOT NULL)")

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self):
        """A transaction that holds the write lock from its start on SQLite."""
        if self.sqlite:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
        else:
            with self.engine.begin() as conn:
                yield conn

    def now(self, conn=None) -> float:
        if self.sqlite:
            return time.time()
        if conn is None:
            with self.engine.connect() as c:
                return self.now(c)
        return float(conn.exec_driver_sql("SELECT extract(epoch from clock_timestamp())").scalar())

    @contextmanager
    def setup_lock(self):
        """One worker at a time prepares assignments and students: a PostgreSQL advisory
        lock, or a lock file beside the SQLite file (a SQLite write lock would block the
        gradebook's own writes)."""
        if self.sqlite:
            import fcntl
            from sqlalchemy.engine import make_url

            with open(f"{make_url(self.url).database}.setup-lock", "w") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        else:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT pg_advisory_lock(2222022)")
                conn.commit()
                try:
                    yield
                finally:
                    conn.exec_driver_sql("SELECT pg_advisory_unlock(2222022)")
                    conn.commit()

    def prepared_source(self, assignment: str) -> str | None:
        from sqlalchemy import text

        with self.transaction() as conn:
            return conn.execute(text(f"SELECT source FROM {SETUP} WHERE assignment = :a"),
                                {"a": assignment}).scalar()

    def set_prepared(self, assignment: str, source: str) -> None:
        from sqlalchemy import text

        with self.transaction() as conn:
            conn.execute(text(f"DELETE FROM {SETUP} WHERE assignment = :a"), {"a": assignment})
            conn.execute(text(f"INSERT INTO {SETUP} (assignment, source) VALUES (:a, :s)"),
                         {"a": assignment, "s": source})

    def enqueue(self, todo: list[tuple[str, str, str]], started: float) -> None:
        """Add this worker's to-do list ((assignment, student, fingerprint) triples).

        A row already there stays as it is, except one done before this worker
        ``started`` that is on its list again (nbgrader could not grade it last time): it
        is to do again.
        """
        from sqlalchemy import text

        with self.transaction() as conn:
            for a, s, f in todo:
                args = {"a": a, "s": s, "f": f, "t": started}
                conn.execute(text(f"INSERT INTO {CLAIMS} (assignment, student, fingerprint, state) "
                                  "VALUES (:a, :s, :f, 'todo') ON CONFLICT DO NOTHING"), args)
                conn.execute(text(f"UPDATE {CLAIMS} SET state = 'todo' WHERE assignment = :a AND student = :s "
                                  "AND fingerprint = :f AND state = 'done' AND done_at < :t"), args)

    def claim(self, worker: str):
        """Claim the next row to grade and return its (assignment, student, fingerprint).

        Claimable: a row to do, or a claim whose heartbeat is older than the timeout (its
        worker died). Returns ``"wait"`` when nothing is claimable but live workers still
        hold claims (one of them may die), None when everything is done.
        """
        from sqlalchemy import text

        lock = "" if self.sqlite else " FOR UPDATE SKIP LOCKED"
        with self.transaction() as conn:
            now = self.now(conn)
            row = conn.execute(text(f"SELECT assignment, student, fingerprint FROM {CLAIMS} "
                                    "WHERE state = 'todo' OR (state = 'claimed' AND heartbeat < :old) "
                                    f"ORDER BY assignment, student LIMIT 1{lock}"),
                               {"old": now - self.timeout}).first()
            if row is not None:
                a, s, f = row
                conn.execute(text(f"UPDATE {CLAIMS} SET state = 'claimed', worker = :w, heartbeat = :n, "
                                  "attempts = attempts + 1 WHERE assignment = :a AND student = :s "
                                  "AND fingerprint = :f"), {"a": a, "s": s, "f": f, "w": worker, "n": now})
                return (a, s, f)
            busy = conn.exec_driver_sql(f"SELECT count(*) FROM {CLAIMS} WHERE state <> 'done'").scalar()
        return "wait" if busy else None

    def beat(self, worker: str, key) -> None:
        from sqlalchemy import text

        a, s, f = key
        with self.transaction() as conn:
            conn.execute(text(f"UPDATE {CLAIMS} SET heartbeat = :n WHERE assignment = :a AND student = :s "
                              "AND fingerprint = :f AND worker = :w AND state = 'claimed'"),
                         {"a": a, "s": s, "f": f, "w": worker, "n": self.now(conn)})

    def done(self, worker: str, key) -> None:
        from sqlalchemy import text

        a, s, f = key
        with self.transaction() as conn:
            conn.execute(text(f"UPDATE {CLAIMS} SET state = 'done', done_at = :n WHERE assignment = :a "
                              "AND student = :s AND fingerprint = :f AND worker = :w"),
                         {"a": a, "s": s, "f": f, "w": worker, "n": self.now(conn)})

    def rows(self) -> list[dict]:
        with self.engine.connect() as conn:
            result = conn.exec_driver_sql(f"SELECT assignment, student, fingerprint, state, worker, attempts "
                                          f"FROM {CLAIMS} ORDER BY assignment, student")
            return [dict(r._mapping) for r in result]


class Heartbeat:
    """Keeps a claim alive while its submission is graded (every third of the timeout)."""

    def __init__(self, claims: Claims, worker: str, key):
        self.claims, self.worker, self.key = claims, worker, key
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.wait(max(1.0, self.claims.timeout / 3)):
            try:
                self.claims.beat(self.worker, self.key)
            except Exception:  # noqa: BLE001 - a missed beat; the next one may get through
                pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
