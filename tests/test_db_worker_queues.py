"""`python manage.py db_worker` as a Django user types it: with no options it works every
queue of settings.TASKS (default, webhooks, media, hooks); `--queue-name` only narrows it. Real
worker processes on the test database."""

import re

import pytest
from django.db import connection
from django.test import Client
from django_tasks_db.models import DBTaskResult

from tests.support.recorded_tasks import record, runs
from tests.support.servers import Process, database_url, no_live_workers, settings_test_environment  # noqa: F401
from tests.support.waiting import wait_for
from whatsapp.jobs.models import WorkerHeartbeat

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

QUEUES = ["default", "webhooks", "media", "hooks"]
LISTENING = "Listening for task notifications"


@pytest.fixture
def start_worker(no_live_workers, tmp_path):  # noqa: F811
    """Starts `manage.py db_worker <options>` on the test database, once it listens."""
    environment = settings_test_environment(database_url(connection.settings_dict))
    started = []

    def start(*options):
        process = Process.manage(
            f"worker-{len(started)}", "db_worker", *options, environment=environment, log_dir=tmp_path
        )
        started.append(process.start())
        process.wait_for_log(LISTENING)
        return process

    yield start
    for process in started:
        process.stop()


def worker_id(process):
    return re.search(r"Starting worker worker_id=(\S+)", process.log).group(1)


def test_with_no_options_the_worker_takes_every_queue(start_worker, tmp_path):
    worker = start_worker()
    log = tmp_path / "runs.log"
    for queue in QUEUES:
        record.using(queue_name=queue).enqueue(str(log), queue)
    assert wait_for(lambda: all(runs(log).get(queue) == ["start", "end"] for queue in QUEUES), 30), worker.tail()
    claims = dict(DBTaskResult.objects.values_list("queue_name", "worker_ids"))
    assert claims == {queue: [worker_id(worker)] for queue in QUEUES}
    assert "queues=default,hooks,media,webhooks" in worker.log


def queue_states():
    return {name: queue["state"] for name, queue in Client().get("/healthz").json()["queues"].items()}


def test_a_running_worker_says_which_queues_it_takes_until_it_stops(start_worker):
    worker = start_worker()
    row = wait_for(lambda: WorkerHeartbeat.objects.filter(worker_id=worker_id(worker)).first(), 10)
    assert row.queues == ["default", "hooks", "media", "webhooks"] and row.threads == 8
    assert queue_states() == {"default": "ok", "hooks": "ok", "media": "ok", "webhooks": "ok"}
    assert worker.stop() == 0
    assert not WorkerHeartbeat.objects.exists()
    assert queue_states() == dict.fromkeys(["default", "hooks", "media", "webhooks"], "no worker")


def test_queue_name_narrows_the_worker_to_the_queues_named(start_worker, tmp_path):
    worker = start_worker("--queue-name", "webhooks")
    log = tmp_path / "runs.log"
    record.using(queue_name="default").enqueue(str(log), "default")
    record.using(queue_name="webhooks").enqueue(str(log), "webhooks")
    assert wait_for(lambda: runs(log).get("webhooks") == ["start", "end"], 30), worker.tail()
    # A later task of its own queue runs too: the older default one was passed over, not
    # waiting for its turn.
    record.using(queue_name="webhooks").enqueue(str(log), "webhooks-later")
    assert wait_for(lambda: runs(log).get("webhooks-later") == ["start", "end"], 30), worker.tail()
    assert "default" not in runs(log)
    assert DBTaskResult.objects.get(queue_name="default").status == "READY"
    assert queue_states() == {"default": "no worker", "hooks": "no worker", "media": "no worker", "webhooks": "ok"}
