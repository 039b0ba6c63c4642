"""The task worker (`manage.py db_worker`, whatsapp/jobs/worker.py): woken by NOTIFY instead of
waiting for its next poll, running tasks side by side on its threads, and finishing what it
runs when told to stop. Each test runs its own stack, with only the workers it starts."""

import signal

import pytest
from django.db import transaction

from tests.support.tenants import ACME
from tests.support.waiting import wait_until
from tests.support.worker_tasks import nap
from whatsapp.models import Message
from whatsapp.simulator import payloads

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

LISTENING = "Listening for task notifications"


@pytest.fixture
def own(own_live_stack):
    """The test's own stack: the web process, and no worker until the test starts one."""
    return own_live_stack(worker=False)


@pytest.fixture
def workers(own):
    """Starts a worker with the given db_worker options, once it listens."""

    def start(name, *options):
        own.stack.start_worker(name, *options)
        own.stack.wait_for_log(name, LISTENING)
        return own.stack.processes[name]

    return start


def naps(log_path):
    """{name: (started, ended)} from the nap task's log."""
    times = {}
    for line in log_path.read_text().splitlines() if log_path.exists() else []:
        edge, name, at = line.split()
        times.setdefault(name, [None, None])[edge == "end"] = float(at)
    return times


def ended(log_path, name):
    return naps(log_path).get(name, [None, None])[1]


def until_idle(log_path):
    """Run one task and wait for its end: the worker's start-up claims are over, and its
    threads wait for the doorbell, as an idle worker's do (the next claim, a few milliseconds
    after the end, is the only moment a task could be found without a bell)."""
    nap.enqueue(str(log_path), "first", 0)
    wait_until(lambda: ended(log_path, "first"), timeout=10, message="The worker ran no first task")


def test_a_task_enqueued_while_the_worker_idles_runs_at_once(workers, tmp_path):
    workers("worker-idle", "--interval", "60")
    until_idle(tmp_path / "naps.log")  # idle: its next poll is a minute away
    nap.enqueue(str(tmp_path / "naps.log"), "woken", 0)
    wait_until(lambda: ended(tmp_path / "naps.log", "woken"), timeout=10, message="The task waited for a poll")


def test_a_webhook_stored_by_the_fast_path_wakes_the_worker(workers, own, acme, tmp_path):
    workers("worker-idle", "--interval", "60")
    until_idle(tmp_path / "naps.log")
    payload = payloads.text_message(ACME["phone_number_id"], "15550004444", "Are you there?")
    response = payloads.deliver(f"{own.url}/webhooks/whatsapp/acme/", payload, ACME["app_secret"])
    assert response.status_code == 200
    wait_until(lambda: Message.objects.filter(text="Are you there?").exists(), timeout=10, message="Not processed")


def test_a_worker_runs_tasks_side_by_side_on_its_threads(workers, tmp_path):
    workers("worker-threads", "--threads", "4", "--interval", "60")
    log = tmp_path / "naps.log"
    with transaction.atomic():  # four tasks, one commit: each still wakes a thread
        for index in range(4):
            nap.enqueue(str(log), f"nap{index}", 1.5)
    wait_until(
        lambda: len([end for _, end in naps(log).values() if end]) == 4,
        timeout=30,
        message=lambda: f"Naps: {naps(log)}",
    )
    times = naps(log).values()
    # Every nap started before any ended: all four ran at the same time.
    assert max(start for start, _ in times) < min(end for _, end in times), naps(log)


def test_a_job_above_the_default_priority_does_not_wait_behind_running_ones(workers, tmp_path):
    """The lane: with its one thread busy, a worker still runs a customer's message (priority
    10) at once, and its lane takes nothing else."""
    workers("worker-lane", "--threads", "1", "--interval", "60")
    log = tmp_path / "naps.log"
    until_idle(log)
    nap.enqueue(str(log), "long", 4)
    nap.enqueue(str(log), "next", 0)
    wait_until(lambda: "long" in naps(log), timeout=10, message="The long task did not start")
    nap.using(priority=10).enqueue(str(log), "urgent", 0)
    wait_until(lambda: ended(log, "urgent"), timeout=3, message=lambda: f"The urgent task waited: {naps(log)}")
    assert ended(log, "long") is None and "next" not in naps(log)  # the lane left the others alone
    wait_until(lambda: ended(log, "next"), timeout=15, message=lambda: f"Naps: {naps(log)}")


def test_a_worker_told_to_stop_finishes_the_tasks_it_runs(workers, tmp_path):
    from django_tasks_db.models import DBTaskResult

    process = workers("worker-stopping", "--threads", "2")
    log = tmp_path / "naps.log"
    result = nap.enqueue(str(log), "last", 2)
    wait_until(lambda: "last" in naps(log), timeout=10, message="The task did not start")
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert naps(log)["last"][1] is not None
    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"
