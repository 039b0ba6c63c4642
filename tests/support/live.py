"""The real stack for end-to-end tests: Daphne and a task worker as subprocesses on
pytest-django's test database, and the fake Graph API in this process.

At most one stack runs at a time on the test database, so no other worker takes a test's
tasks: `live_stack`, shared by the tests that leave its processes alone and started on first
use, or `own_live_stack`, a test's own, for the tests that stop or kill processes (starting
it stops the shared one, which the next test that wants it starts again). `no_live_stack`
stops the shared one for tests that run the tasks themselves. Tests that use a stack must also
use `transactional_db`: the subprocesses only see committed rows. conftest.py makes these
fixtures available to every test module.
"""

import atexit
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from whatsapp.simulator.fake_graph import FakeGraphAPI

from .servers import BASE_DIR, die_with_parent, free_port
from .waiting import wait_until

STARTUP_TIMEOUT_SECONDS = 60  # a deadline, generous: with -n 2 two stacks may start at once on a busy machine
STOP_TIMEOUT_SECONDS = 5
LOG_TAIL_LINES = 40


class LiveStackError(RuntimeError):
    pass


class LiveStack:
    """Daphne and `db_worker` on the given database, talking to the given Graph API URL."""

    def __init__(self, database_url, graph_url, channels_prefix, directory, host="127.0.0.1", roles=None):
        """`directory` holds the processes' logs and local media: a temporary folder of pytest's,
        kept after the run (pytest keeps the last three runs' folders) to read after a failure.
        `roles` maps "web" or "worker" to environment variables of that role's processes only
        (another DATABASE_URL, behind PgBouncer say)."""
        self.host = host
        self.port = free_port(host)
        self.environment = os.environ | {
            "DJANGO_SETTINGS_MODULE": "inbox.settings_test",
            "DATABASE_URL": database_url,
            "WHATSAPP_GRAPH_URL": graph_url,
            # The same groups as this process, so a test can listen to what browsers get.
            "CHANNELS_PREFIX": channels_prefix,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "VAR_DIR": "",  # set below: the servers' local media, in a folder of their own
            "PYTHONUNBUFFERED": "1",
        }
        # The browser tests allow sync ORM calls in their own process only; the servers must
        # keep Django's check, or an async-unsafe call in the app would go unnoticed.
        self.environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.log_dir = Path(directory)
        self.environment["VAR_DIR"] = str(self.log_dir / "var")
        self.roles = {"web": {}, "worker": {}} | (roles or {})
        self.processes = {}

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self, worker=True):
        """Start the web process and (unless not `worker`) a worker, and wait for /healthz; on
        failure, stop them and raise."""
        atexit.register(self.stop)  # a safety net if the session dies before teardown
        try:
            self._spawn(
                "web", "-m", "daphne", "-b", self.host, "-p", str(self.port), "inbox.asgi:application", role="web"
            )
            if worker:
                self.start_worker("worker")
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def start_worker(self, name, *options):
        """One more task worker process (or a replacement for one that was killed), with the
        command's default threads. NOTIFY wakes it; the interval is only the fallback poll.
        `options` go to db_worker after these (argparse takes the last of a repeated one)."""
        self._spawn(
            name,
            "manage.py",
            "db_worker",
            "--interval",
            "0.5",
            "--queue-name",
            "*",
            "--no-reload",
            "--no-startup-delay",
            "--worker-id",
            name,
            *options,
            role="worker",
        )

    def start_web(self, name):
        """One more web process, on a port of its own, sharing the database and Redis (a
        second machine behind the proxy). Returns its URL once /healthz answers."""
        port = free_port(self.host)
        self._spawn(name, "-m", "daphne", "-b", self.host, "-p", str(port), "inbox.asgi:application", role="web")
        url = f"http://{self.host}:{port}"
        self._wait_until_healthy(url, starting=[name])
        return url

    def check_alive(self):
        """Fail loudly if a process died: no test of a shared stack stops its processes."""
        dead = {name: process.returncode for name, process in self.processes.items() if process.poll() is not None}
        if dead:
            self._fail(f"Processes of the live stack exited: {dead}.")

    def log(self, name):
        """A process's output so far."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_log(self, name, text, seconds=STARTUP_TIMEOUT_SECONDS):
        """Wait until `name` has written `text` (a worker logs when it listens for tasks)."""

        def logged():
            if self.processes[name].poll() is not None:
                self._fail(f"The {name} process exited before it logged {text!r}.")
            return text in self.log(name)

        wait_until(logged, timeout=seconds, message=lambda: f"{name} did not log {text!r}\n{self.log_tails()}")

    def kill(self, name):
        """SIGKILL: the process dies at once, mid-task, with no chance to clean up."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def stop(self):
        """Terminate both processes (kill after STOP_TIMEOUT_SECONDS). Safe to call twice."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        atexit.unregister(self.stop)

    def log_tails(self, lines=LOG_TAIL_LINES):
        """The end of each process's output, for failure messages."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            name = path.stem
            text = path.read_text(errors="replace") if path.exists() else ""
            tail = "\n".join(text.splitlines()[-lines:]) or "(no output)"
            parts.append(f"--- {name} log, last {lines} lines ---\n{tail}")
        return "\n".join(parts)

    def _spawn(self, name, *arguments, role):
        # A file, not a pipe: nobody reads the output while tests run, and a full pipe blocks.
        with open(self.log_dir / f"{name}.log", "wb") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, *arguments],
                cwd=BASE_DIR,
                env=self.environment | self.roles[role],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )

    def _wait_until_healthy(self, url=None, starting=None):
        """Wait for `url`'s /healthz; fail early if a process being started exits."""
        url = url or self.url
        starting = starting or list(self.processes)
        problem = "no answer yet"

        def healthy():
            nonlocal problem
            for name in starting:
                process = self.processes.get(name)
                if process is not None and process.poll() is not None:
                    self._fail(f"The {name} process exited with code {process.returncode} during startup.")
            try:
                response = httpx.get(f"{url}/healthz", timeout=1)
            except httpx.HTTPError as error:
                problem = repr(error)
                return False
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
            return response.status_code == 200

        wait_until(
            healthy,
            timeout=STARTUP_TIMEOUT_SECONDS,
            message=lambda: f"{url}/healthz did not answer 200 ({problem})\n{self.log_tails()}",
            interval=0.1,
        )

    def _fail(self, reason):
        raise LiveStackError(f"{reason}\n{self.log_tails()}")


@dataclass
class Live:
    """What tests get: the web server's URL, the fake Graph API and the processes."""

    url: str
    fake: FakeGraphAPI
    stack: LiveStack


def database_url(settings_dict):
    """A DATABASE_URL for the database Django is connected to (the test database here)."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = settings_dict["HOST"] or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{quote(settings_dict['NAME'], safe='')}"


class LiveStacks:
    """Starts and stops the stacks on the test database, one at a time: the shared one, kept
    from one test to the next, or a test's own."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.shared = None  # the shared stack while it runs
        self.own = None  # a test's own stack while it runs

    def start_shared(self):
        """The shared stack, started if it is not running."""
        if self.own is not None:
            raise LiveStackError("The shared live stack was asked for while a test's own stack runs.")
        if self.shared is None:
            self.shared = self._start("live-stack")
        self.shared.stack.check_alive()
        return self.shared

    def stop_shared(self):
        if self.shared is not None:
            _stop(self.shared)
            self.shared = None

    def start_own(self, worker=True, roles=None):
        """A fresh stack for one test or module; the shared one is stopped first. `roles`: see
        LiveStack."""
        self.stop_shared()
        self.own = self._start("own-live-stack", worker=worker, roles=roles)
        return self.own

    def stop_own(self):
        if self.own is not None:
            _stop(self.own)
            self.own = None

    def _start(self, name, worker=True, roles=None):
        from django.conf import settings
        from django.db import connection

        if connection.vendor != "postgresql":
            pytest.skip("The live stack needs PostgreSQL: other processes cannot see an in-memory database.")
        prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
        fake = FakeGraphAPI(status_delay=0.2).start()
        directory = self.tmp_path_factory.mktemp(name)
        stack = LiveStack(database_url(connection.settings_dict), fake.url, prefix, directory, roles=roles)
        try:
            stack.start(worker=worker)
        except BaseException:
            fake.stop()
            raise
        return Live(url=stack.url, fake=fake, stack=stack)


def _stop(live):
    """The fake first, so it starts no more webhooks; then the processes, after which nothing of
    this stack writes to the database."""
    live.fake.stop()
    live.stack.stop()


@pytest.fixture(scope="session")
def live_stacks(django_db_setup, tmp_path_factory):
    """Depends on django_db_setup so the test database exists before any process starts, and
    is torn down before it, so no process holds a connection when the database is dropped."""
    stacks = LiveStacks(tmp_path_factory)
    yield stacks
    stacks.stop_own()
    stacks.stop_shared()


@pytest.fixture
def live_stack(live_stacks):
    """The shared web server and worker on the test database, with a fake Graph API. For tests
    that leave its processes alone (start others on `own_live_stack`)."""
    return live_stacks.start_shared()


@pytest.fixture
def own_live_stack(live_stacks):
    """Call it for a stack of this test's own (`worker=False`: the web process only; `roles`:
    environment variables of the web or the worker processes only, see LiveStack), stopped
    after the test: for tests that stop or kill its processes."""

    def start(worker=True, roles=None):
        return live_stacks.start_own(worker=worker, roles=roles)

    yield start
    live_stacks.stop_own()


@pytest.fixture
def no_live_stack(live_stacks):
    """No stack on the test database: for tests that commit rows and run the tasks themselves,
    which the shared stack's worker would otherwise take first."""
    live_stacks.stop_shared()
