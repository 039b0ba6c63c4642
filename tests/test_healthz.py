"""/healthz for load balancers: the database decides 200 or 503; the channel layer and the
task queue's backlog are reported alongside."""

import json
import os
import subprocess
import sys
from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.support.servers import BASE_DIR
from whatsapp.jobs.models import WorkerHeartbeat
from whatsapp.webhook.ingest import process_webhook_event

CLOSED_PORT = "127.0.0.1:9"


def test_it_answers_200_with_every_part(client, db):
    # A live stack of this test process may be running beside: its worker's heartbeat is
    # not this test's (the deletion is undone with the test's transaction).
    WorkerHeartbeat.objects.all().delete()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "channel_layer": "ok",
        "task_backlog": {"ready": 0, "oldest_seconds": 0},
        "queues": {
            name: {"state": "no worker", "ready": 0, "oldest_seconds": 0, "workers": 0}
            for name in ["default", "hooks", "media", "webhooks"]
        },
    }


def test_it_needs_no_login_and_only_answers_get(client, db):
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_the_backlog_counts_tasks_due_now_and_the_age_of_the_oldest(client, db):
    process_webhook_event.enqueue(1)
    process_webhook_event.enqueue(2)
    process_webhook_event.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(3)  # not due yet
    oldest = DBTaskResult.objects.filter(args_kwargs__args=[1])
    oldest.update(enqueued_at=timezone.now() - timedelta(minutes=2))
    backlog = client.get("/healthz").json()["task_backlog"]
    assert backlog["ready"] == 2
    assert 120 <= backlog["oldest_seconds"] < 150


def test_a_task_that_became_due_later_has_waited_since_then(client, db):
    process_webhook_event.using(run_after=timezone.now() - timedelta(seconds=30)).enqueue(1)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(hours=1))
    assert 30 <= client.get("/healthz").json()["task_backlog"]["oldest_seconds"] < 60


def test_an_unreachable_channel_layer_is_reported_but_does_not_fail_the_check(client, db, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://{CLOSED_PORT}/0"], "prefix": "healthz-test"},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["channel_layer"] == "unavailable"
    assert response.json()["status"] == "ok"


def test_it_answers_503_when_the_database_does_not():
    """The whole project, in another process, with its database on a closed port."""
    script = (
        "import django, json; django.setup(); from django.test import Client; "
        "response = Client().get('/healthz'); print(json.dumps([response.status_code, response.json()]))"
    )
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": "inbox.settings_test",
        "DATABASE_URL": f"postgres://postgres@{CLOSED_PORT}/inbox",
        "DATABASE_POOL_TIMEOUT": "1",
        "ALLOWED_HOSTS": "testserver",
    }
    finished = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=60
    )
    status, body = json.loads(finished.stdout.strip().splitlines()[-1])
    assert status == 503
    assert body["status"] == "error" and body["database"] == "unavailable: OperationalError"
    assert body["channel_layer"] == "ok" and body["task_backlog"] is None and body["queues"] is None
