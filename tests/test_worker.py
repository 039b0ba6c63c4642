"""The task worker (`manage.py db_worker`, whatsapp/jobs/worker.py): woken by NOTIFY instead of
waiting for its next poll, running tasks side by side on its threads, and finishing what it
runs when told to stop. Each test runs its own worker processes in place of the session's."""

import signal
import time

import pytest
from django.db import transaction

from tests.support.tenants import ACME
from tests.support.worker_tasks import nap
from whatsapp.models import Message
from whatsapp.simulator import payloads

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

LISTENING = "Listening for task notifications"


@pytest.fixture
def workers(live_stack):
    """Starts workers with the given db_worker options, once they listen; the session's
    worker is stopped meanwhile, so it takes none of these tests' tasks, and put back after."""
    stack = live_stack.stack
    for name in [name for name in stack.processes if name.startswith("worker")]:
        stack.kill(name)
    started = []

    def start(name, *options):
        stack.start_worker(name, *options)
        stack.wait_for_log(name, LISTENING)
        started.append(name)
        return stack.processes[name]

    yield start
    for name in started:
        if name in stack.processes:
            stack.kill(name)
    stack.start_worker("worker")


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def naps(log_path):
    """{name: (started, ended)} from the nap task's log."""
    times = {}
    for line in log_path.read_text().splitlines() if log_path.exists() else []:
        edge, name, at = line.split()
        times.setdefault(name, [None, None])[edge == "end"] = float(at)
    return times


def test_a_task_enqueued_while_the_worker_idles_runs_at_once(workers, tmp_path):
    workers("worker-idle", "--interval", "60")
    time.sleep(1)  # idle: its next poll is a minute away
    nap.enqueue(str(tmp_path / "naps.log"), "woken", 0)
    assert wait_for(lambda: naps(tmp_path / "naps.log").get("woken", [None, None])[1], seconds=10)


def test_a_webhook_stored_by_the_fast_path_wakes_the_worker(workers, live_stack, acme):
    workers("worker-idle", "--interval", "60")
    time.sleep(1)
    payload = payloads.text_message(ACME["phone_number_id"], "15550004444", "Are you there?")
    response = payloads.deliver(f"{live_stack.url}/webhooks/whatsapp/acme/", payload, ACME["app_secret"])
    assert response.status_code == 200
    assert wait_for(lambda: Message.objects.filter(text="Are you there?").exists(), seconds=10)


def test_a_worker_runs_tasks_side_by_side_on_its_threads(workers, tmp_path):
    workers("worker-threads", "--threads", "4", "--interval", "60")
    log = tmp_path / "naps.log"
    with transaction.atomic():  # four tasks, one commit: each still wakes a thread
        for index in range(4):
            nap.enqueue(str(log), f"nap{index}", 1.5)
    assert wait_for(lambda: len([end for _, end in naps(log).values() if end]) == 4, seconds=30), naps(log)
    times = naps(log).values()
    # Every nap started before any ended: all four ran at the same time.
    assert max(start for start, _ in times) < min(end for _, end in times), naps(log)


def test_a_worker_told_to_stop_finishes_the_tasks_it_runs(workers, tmp_path):
    from django_tasks_db.models import DBTaskResult

    process = workers("worker-stopping", "--threads", "2")
    log = tmp_path / "naps.log"
    result = nap.enqueue(str(log), "last", 2)
    assert wait_for(lambda: "last" in naps(log), seconds=10)
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert naps(log)["last"][1] is not None
    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"
