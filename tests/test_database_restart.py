"""PostgreSQL restarts under running processes (as a restart or a failover does: every session
terminated, then nothing answers for a while). A worker rides it out: it stays up, logs the
outage once, finishes what it ran, runs again the task the outage cut off, and takes tasks
enqueued afterwards at once (its LISTEN connection is back); no task ends twice. A web
process's /healthz answers 200 again as soon as the database does.

The database is a cluster of the test's own (tests/support/servers.py), stopped and started at will."""

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.support.recorded_tasks import runs
from tests.support.servers import (
    BASE_DIR,
    PostgresCluster,
    Process,
    free_port,
    run_manage,
    settings_test_environment,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.stack, pytest.mark.slow]

LISTENING = "Listening for task notifications"
OUTAGE_SECONDS = 4


@pytest.fixture(scope="module")
def cluster():
    cluster = PostgresCluster().start()
    yield cluster
    cluster.remove()


@pytest.fixture(scope="module")
def environment(cluster):
    """The test settings on a migrated database of the cluster."""
    environment = settings_test_environment(cluster.create_database("inbox"), DATABASE_POOL_TIMEOUT="2")
    run_manage("migrate", "--noinput", environment=environment)
    return environment


@pytest.fixture
def restarted(cluster):
    """The cluster is up after the test, whatever the test did to it."""
    yield
    if not cluster.running:
        cluster.start()


@pytest.fixture
def worker(environment, tmp_path):
    # A poll a minute apart: tasks enqueued after the restart start at once only if the
    # worker listens for notifications again.
    process = Process.manage(
        "worker", "db_worker", "--threads", "2", "--interval", "60", environment=environment, log_dir=tmp_path
    )
    process.start()
    process.wait_for_log(LISTENING)
    yield process
    process.stop()


def enqueue(environment, log, *tasks):
    """Enqueue record(log, name, seconds, in_database) for each (name, seconds, in_database)."""
    script = (
        "import django, json, sys; django.setup()\n"
        "from tests.support.recorded_tasks import record\n"
        "for name, seconds, in_database in json.loads(sys.argv[1]):\n"
        "    record.enqueue(sys.argv[2], name, seconds, in_database)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, json.dumps(tasks), str(log)], cwd=BASE_DIR, env=environment, check=True
    )


def results(cluster):
    """{task name: (status, number of claims)} from the cluster's task table."""
    with psycopg.connect(cluster.url("inbox")) as connection:
        rows = connection.execute("SELECT args_kwargs, status, worker_ids FROM django_tasks_database_dbtaskresult")
        return {args["args"][1]: (status, len(worker_ids)) for args, status, worker_ids in rows}


def test_the_worker_rides_out_a_database_restart(cluster, environment, worker, restarted, tmp_path):
    log = tmp_path / "runs.log"
    enqueue(environment, log, ("before", 0, False))
    assert wait_for(lambda: runs(log).get("before") == ["start", "end"], 15), worker.tail()

    # One task sleeps in the worker, the other in a query: the restart lands in both.
    enqueue(environment, log, ("across", OUTAGE_SECONDS, False), ("cut", OUTAGE_SECONDS + 2, True))
    assert wait_for(lambda: {"across", "cut"} <= runs(log).keys(), 15), worker.tail()
    cluster.stop()
    time.sleep(OUTAGE_SECONDS + 1)  # the outage under test: the database stays down this long
    assert worker.alive, worker.tail()
    cluster.start()

    # The task that ran through the outage is recorded once the database answers; the one
    # the outage cut off runs again, to its end.
    assert wait_for(lambda: results(cluster).get("across") == ("SUCCESSFUL", 1), 30), worker.tail()
    assert wait_for(lambda: results(cluster).get("cut", ("",))[0] == "SUCCESSFUL", 60), worker.tail()
    assert runs(log)["across"] == ["start", "end"]
    assert runs(log)["cut"] == ["start", "start", "end"] and results(cluster)["cut"] == ("SUCCESSFUL", 2)

    worker.wait_for_log(LISTENING, count=2)
    enqueue(environment, log, ("after-1", 0, False), ("after-2", 0, False))
    assert wait_for(lambda: all(runs(log).get(name) == ["start", "end"] for name in ("after-1", "after-2")), 10), (
        worker.tail()
    )

    assert worker.alive
    assert all(lines.count("end") == 1 for lines in runs(log).values()), runs(log)
    assert set(results(cluster).values()) <= {("SUCCESSFUL", 1), ("SUCCESSFUL", 2)}
    assert worker.log.count("Lost the database") == 1, worker.tail()
    assert worker.log.count("The database answers again") == 1, worker.tail()
    assert worker.stop() == 0


def test_the_health_check_answers_200_again_as_soon_as_the_database_does(cluster, environment, restarted, tmp_path):
    port = free_port()
    arguments = [sys.executable, "-m", "uvicorn", "inbox.asgi:application", "--port", str(port)]
    web = Process("web", arguments, environment, tmp_path).start()
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        assert wait_for(lambda: _status(url) == 200, 30), web.tail()
        with ThreadPoolExecutor(8) as pool:  # several connections wait in the web process's pool
            assert set(pool.map(lambda _: _status(url), range(16))) == {200}
        cluster.stop()
        assert _status(url) == 503
        cluster.start()
        # Within seconds of the database's return, then steadily: the pool's idle connections
        # died with the server, and none of them fails a check after that.
        assert wait_for(lambda: _status(url) == 200, 5), web.tail()
        assert [_status(url) for _ in range(12)] == [200] * 12, web.tail()
    finally:
        web.stop()


def _status(url):
    try:
        return httpx.get(url, timeout=30).status_code
    except httpx.HTTPError:
        return None
