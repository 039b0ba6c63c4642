"""Whether every task queue is worked, from the workers' heartbeats and the jobs waiting:
/healthz's `queues` and the dashboard's connection panel, for a healthy state, a stalled
queue and a queue that no live worker takes."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tenants.models import Role
from tenants.setup import add_member
from whatsapp.jobs import heartbeat
from whatsapp.jobs.models import WorkerHeartbeat
from whatsapp.webhook.ingest import process_webhook_event

pytestmark = pytest.mark.django_db

EVERY_QUEUE = ["default", "hooks", "media", "webhooks"]


@pytest.fixture(autouse=True)
def _only_these_beats(no_live_stack, db):
    """Only this module's beats count: a live stack's worker ("worker") beats into the same
    database. The shared stack is stopped, and any row left (a stack stopped without its
    goodbye) is removed in the test's transaction, which holds it until the test ends."""
    WorkerHeartbeat.objects.all().delete()


def worker_beats(worker_id="worker-1", queues=("*",), seconds_ago=0):
    now = timezone.now()
    heartbeat.beat(worker_id, queues, threads=8, started_at=now, now=now - timedelta(seconds=seconds_ago))


def queues():
    response = Client().get("/healthz")
    assert response.status_code == 200
    return response.json()["queues"]


def states():
    return {name: queue["state"] for name, queue in queues().items()}


def wait_since(seconds, task=process_webhook_event, queue_name="webhooks"):
    """A job of `queue_name` that has been ready for `seconds`."""
    result = task.using(queue_name=queue_name).enqueue(1)
    DBTaskResult.objects.filter(pk=result.id).update(enqueued_at=timezone.now() - timedelta(seconds=seconds))


@pytest.fixture
def dashboard(acme):
    client = Client()
    client.force_login(add_member(acme, "admin@acme.test", role=Role.ADMIN).user)
    return lambda: client.get("/t/acme/dashboard/").content.decode()


def test_with_a_live_worker_of_every_queue_and_nothing_late_every_queue_is_ok():
    worker_beats()
    wait_since(5)
    assert queues() == {
        "default": {"state": "ok", "ready": 0, "oldest_seconds": 0, "workers": 1},
        "hooks": {"state": "ok", "ready": 0, "oldest_seconds": 0, "workers": 1},
        "media": {"state": "ok", "ready": 0, "oldest_seconds": 0, "workers": 1},
        "webhooks": {"state": "ok", "ready": 1, "oldest_seconds": pytest.approx(5, abs=2), "workers": 1},
    }


def test_a_queue_whose_oldest_ready_job_waited_past_the_limit_is_stalled():
    worker_beats()
    wait_since(75)
    assert states() == {"default": "ok", "hooks": "ok", "media": "ok", "webhooks": "stalled"}
    assert queues()["webhooks"]["oldest_seconds"] >= 75


def test_the_limit_is_the_queue_stall_seconds_setting(settings):
    settings.QUEUE_STALL_SECONDS = 120
    worker_beats()
    wait_since(75)
    assert states()["webhooks"] == "ok"


def test_a_job_not_due_yet_does_not_stall_its_queue():
    worker_beats()
    process_webhook_event.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(hours=1))
    assert states()["webhooks"] == "ok"


def test_a_queue_that_no_live_worker_takes_is_named():
    worker_beats(queues=["default", "hooks", "media"])
    assert states() == {"default": "ok", "hooks": "ok", "media": "ok", "webhooks": "no worker"}


def test_without_any_worker_every_queue_is_named():
    assert states() == dict.fromkeys(EVERY_QUEUE, "no worker")


def test_a_silent_worker_counts_for_nothing():
    worker_beats(seconds_ago=heartbeat.SILENT_AFTER.total_seconds() + 1)
    assert states() == dict.fromkeys(EVERY_QUEUE, "no worker")


def test_workers_are_counted_per_queue():
    worker_beats("all")
    worker_beats("webhooks-1", queues=["webhooks"])
    worker_beats("webhooks-2", queues=["webhooks"])
    assert {name: queue["workers"] for name, queue in queues().items()} == {
        "default": 1,
        "hooks": 1,
        "media": 1,
        "webhooks": 3,
    }


def test_a_beat_updates_its_own_row_and_forgets_long_dead_workers():
    worker_beats("long-dead", seconds_ago=heartbeat.FORGET_AFTER.total_seconds() + 1)
    worker_beats("recently-dead", seconds_ago=heartbeat.SILENT_AFTER.total_seconds() + 1)
    worker_beats("alive")
    worker_beats("alive")
    assert sorted(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["alive", "recently-dead"]


def test_a_stopped_worker_is_forgotten_at_once():
    worker_beats("stopping")
    heartbeat.forget("stopping")
    assert states() == dict.fromkeys(EVERY_QUEUE, "no worker")


def test_the_health_check_stays_200_whatever_the_queues_say():
    wait_since(3600)
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_the_dashboard_names_a_queue_without_a_worker_and_the_command_that_fixes_it(dashboard):
    worker_beats(queues=["default", "media"])
    page = dashboard()
    assert "No worker takes the webhooks queue: run <code>python manage.py db_worker</code>." in page
    assert "No worker takes the default queue" not in page


def test_the_dashboard_says_a_stalled_queue_is_behind(dashboard):
    worker_beats()
    wait_since(180)
    wait_since(60)
    assert (
        "The webhooks queue is behind: 2 jobs ready, the oldest waiting for 3\xa0minutes. Its workers are "
        "stuck or too few: run <code>python manage.py db_worker</code>." in dashboard()
    )


def test_the_dashboard_says_when_every_queue_is_worked(dashboard):
    worker_beats()
    assert "Every queue has a live worker and none is behind." in dashboard()
