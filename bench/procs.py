"""The processes a benchmark starts: web servers, task workers, the fake Graph API. Each is
stopped by its own id, its peak memory (VmHWM) read just before."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = Path(tempfile.mkdtemp(prefix="bench-logs-"))

# db_worker's default: enough for ~80 sends/s against a Graph API answering in 100 ms.
WORKER_THREADS = int(os.environ.get("BENCH_WORKER_THREADS", "8"))
# A webhooks worker's production default (docs/deploying.md): 1 thread (and the lane for
# customers' messages). More threads overlap the waits for PostgreSQL, but share the GIL with
# the lane: draining a 30,000-webhook burst of the mix, 1,547 events/s with 1 thread, 1,746
# with 2, 1,717 with 3 (2026-12-05 01:49, before the lane's give-way; a slower machine: 742,
# 876, 1,210); while 1,000 statuses/s arrived, a customer's message reached 50 sockets at p50
# 48-55 ms (Uvicorn) with 1 thread, 52-70 with 2, 70-96 with 3 (quick runs).
WEBHOOK_WORKER_THREADS = int(os.environ.get("BENCH_WEBHOOK_THREADS", "1"))

SERVERS = {
    "daphne": lambda port: ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "inbox.asgi:application"],
    "uvicorn": lambda port: [
        "-m",
        "uvicorn",
        "inbox.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets-sansio",
        "--no-access-log",
        "--log-level",
        "warning",
        "--lifespan",
        "off",
    ],
}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_rss_mb(pid):
    """The process's peak resident memory so far, in MB (Linux: VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """CPU time (user + system) the process has used so far, all its threads (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def machine_busy_seconds():
    """CPU seconds all cores have spent busy since boot (Linux /proc/stat: all but idle and
    iowait), and the number of cores."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK"), os.cpu_count()


def postgres_cpu_seconds(dsn):
    """CPU time so far of the PostgreSQL backends connected to `dsn`'s database (other
    databases' work on the same server is not counted; backends that ended are lost, so
    measure while the processes that hold connections run)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        pids = [
            row[0]
            for row in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    return sum(cpu_seconds(pid) or 0 for pid in pids)


class Processes:
    """Everything started here; stop() ends each by its pid and records its peak RSS."""

    def __init__(self, environment):
        self.environment = environment
        self.running = {}  # name -> (role, Popen)
        self.peaks = {}  # role -> max peak RSS in MB seen
        self.logs = {}

    def spawn(self, name, role, arguments, env=None):
        log_path = LOG_DIR / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, *arguments],
                cwd=BASE_DIR,
                env=self.environment | (env or {}),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[name] = (role, process)
        self.logs[name] = log_path
        return process

    def web(self, name, server, env=None):
        port = free_port()
        self.spawn(name, f"web ({server})", SERVERS[server](port), env)
        url = f"http://127.0.0.1:{port}"
        self.wait_healthy(name, url)
        return url

    def worker(self, name, *extra, queues="*", threads=WORKER_THREADS, env=None):
        """A db_worker process. NOTIFY wakes it when a task is enqueued, so the interval is only
        the fallback poll (and the wait of tasks whose run_after passes)."""
        return self.spawn(
            name,
            "worker",
            [
                "manage.py",
                "db_worker",
                "--interval",
                "0.5",
                "--threads",
                str(threads),
                "--no-reload",
                "--no-startup-delay",
                "--worker-id",
                name,
                "--queue-name",
                queues,
                *extra,
            ],
            env,
        )

    def wait_healthy(self, name, url, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running[name][1].poll() is not None:
                raise RuntimeError(f"{name} exited during startup:\n{self.tail(name)}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer /healthz within {timeout} s:\n{self.tail(name)}")

    def wait_for_log(self, name, text, timeout=30):
        """Wait until the process has written `text` to its log (e.g. a worker is ready)."""
        deadline = time.monotonic() + timeout
        while text not in self.logs[name].read_text(errors="replace"):
            if self.running[name][1].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not log {text!r}:\n{self.tail(name)}")
            time.sleep(0.1)

    def pid(self, name):
        return self.running[name][1].pid

    def sample(self):
        for role, process in self.running.values():
            peak = peak_rss_mb(process.pid)
            if peak is not None:
                self.peaks[role] = max(self.peaks.get(role, 0), peak)

    def stop(self, *names):
        names = names or list(self.running)
        self.sample()
        for name in names:
            _role, process = self.running[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name in names:
            _role, process = self.running.pop(name)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: only what it started
                process.wait()

    def tail(self, name, lines=30):
        text = self.logs[name].read_text(errors="replace") if name in self.logs else ""
        return "\n".join(text.splitlines()[-lines:])
