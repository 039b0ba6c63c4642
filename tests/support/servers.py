"""Processes and servers a test owns: project commands (a web server, a worker, `manage.py`)
in an environment of the test's choosing, each logging to a file of its own, and a
PostgreSQL cluster and a Redis server on ports of their own. Everything started here is stopped by the test that
started it; project commands die with pytest if pytest is killed, and the cluster is stopped
when pytest exits."""

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from .waiting import wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
STOP_SECONDS = 10
LOG_TAIL_LINES = 40
PR_SET_PDEATHSIG = 1


def free_port(host="127.0.0.1"):
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def database_url(settings_dict):
    """A DATABASE_URL for the database Django is connected to (the test database here)."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = settings_dict["HOST"] or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{quote(settings_dict['NAME'], safe='')}"


def settings_test_environment(database, **variables):
    """The test settings (inbox/settings_test.py) on `database` (a DATABASE_URL), as the live
    stack's processes get them, plus `variables`."""
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": "inbox.settings_test",
        "DATABASE_URL": database,
        "PYTHONUNBUFFERED": "1",
        **variables,
    }
    # Browser tests allow sync ORM calls in their own process only: servers keep the check.
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return environment


class Process:
    """One command, its output in `<log_dir>/<name>.log`."""

    def __init__(self, name, arguments, environment, log_dir):
        self.name, self.arguments, self.environment = name, list(arguments), environment
        self.log_path = Path(log_dir) / f"{name}.log"
        self.popen = None

    @classmethod
    def manage(cls, name, *arguments, environment, log_dir):
        """`python manage.py <arguments>`, not started yet."""
        return cls(name, [sys.executable, "manage.py", *arguments], environment, log_dir)

    def start(self):
        # A file, not a pipe: nobody reads the output while the test runs, and a full pipe blocks.
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.arguments,
                cwd=BASE_DIR,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        return self

    @property
    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    @property
    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines=LOG_TAIL_LINES):
        return f"--- {self.name}, last {lines} lines ---\n" + "\n".join(self.log.splitlines()[-lines:])

    def wait_for_log(self, text, seconds=30, count=1):
        """Wait until the output holds `text` `count` times; fail if the process exits first."""
        deadline = time.monotonic() + seconds
        while self.log.count(text) < count:
            if not self.alive or time.monotonic() > deadline:
                pytest.fail(f"{self.name} did not log {text!r} {count} time(s).\n{self.tail()}")
            time.sleep(0.05)

    def stop(self, seconds=STOP_SECONDS):
        """SIGTERM, then SIGKILL after `seconds`. Returns the exit code; safe to call twice."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(seconds)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


def run_manage(*arguments, environment, timeout=180):
    """`python manage.py <arguments>` to its end; fails the test, with its output, if it fails."""
    finished = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if finished.returncode != 0:
        pytest.fail(f"manage.py {' '.join(arguments)} failed:\n{finished.stdout}\n{finished.stderr}")
    return finished


@pytest.fixture
def no_live_workers(no_live_stack):
    """No live stack's worker runs during the test: it would take the test's tasks."""
    return None


def die_with_parent():
    """In the child, before exec: the kernel sends SIGTERM if pytest itself is killed,
    when no teardown can run."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class PostgresCluster:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder, as the postgres
    user, trust authentication), on its own port, to stop and start at will. remove() stops
    it and deletes the folder."""

    BIN = Path("/usr/lib/postgresql/15/bin")

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = free_port()
        self.running = False
        atexit.register(self.remove)  # a safety net if the session dies before teardown
        self._as_postgres(self.BIN / "initdb", "-D", self.data, "--auth=trust", "--username=postgres", "--no-sync")

    def url(self, database="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.folder / "server.log"
        self._as_postgres(self.BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", log, "-w", "start")
        self.running = True
        return self

    def stop(self):
        """A fast shutdown, as a restart or a failover does: every session is terminated."""
        self._as_postgres(self.BIN / "pg_ctl", "-D", self.data, "-w", "stop", "-m", "fast")
        self.running = False

    def create_database(self, name):
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self):
        if self.running:
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
        atexit.unregister(self.remove)

    @property
    def log(self):
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _as_postgres(self, *arguments):
        finished = subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, arguments)], capture_output=True, text=True, timeout=120
        )
        if finished.returncode != 0:
            raise RuntimeError(f"{arguments[0]} failed:\n{finished.stdout}\n{finished.stderr}\n{self.log[-3000:]}")


class RedisServer:
    """A Redis server of the test's own, on its own port, to stop and start at will."""

    def __init__(self, log_dir):
        self.port = free_port()
        self.log_dir = Path(log_dir)
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        arguments = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        arguments += ["--daemonize", "no", "--dir", str(self.log_dir)]
        self.process = Process("redis", arguments, os.environ, self.log_dir).start()
        if not wait_for(self.answers, 10):
            pytest.fail(f"Redis did not start.\n{self.process.tail()}")
        return self

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False
