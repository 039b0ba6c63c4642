"""A worker killed mid-job leaves its job RUNNING: maintenance enqueues the jobs that are
safe to run again, so no webhook stays unprocessed."""

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.support.tenants import ACME
from whatsapp.maintenance import ABANDONED_AFTER, Abandoned, requeue_abandoned_tasks
from whatsapp.models import Message, WebhookEvent
from whatsapp.sending.delivery import send_message
from whatsapp.simulator import payloads
from whatsapp.webhook.ingest import process_webhook_event


def _taken_by_a_dead_worker(task, started_ago):
    job = DBTaskResult.objects.filter(task_path=task.module_path, status="READY").get()
    job.claim("killed-worker")
    DBTaskResult.objects.filter(pk=job.pk).update(started_at=timezone.now() - started_ago)
    return job


def test_a_webhook_job_abandoned_mid_run_is_enqueued_again_and_processed_once(webhook, run_tasks):
    webhook.post(payloads.text_message(ACME["phone_number_id"], "15557654321", "Still there?"))
    job = _taken_by_a_dead_worker(process_webhook_event, ABANDONED_AFTER + timedelta(minutes=1))

    assert requeue_abandoned_tasks() == 1
    job.refresh_from_db()
    assert job.status == "FAILED" and "enqueued again" in job.traceback
    assert job.task_result.errors[0].exception_class is Abandoned
    assert requeue_abandoned_tasks() == 0  # the failed job is not picked twice
    run_tasks()

    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
    assert Message.objects.filter(text="Still there?").count() == 1


def test_a_job_still_running_recently_is_left_alone(webhook):
    webhook.post(payloads.text_message(ACME["phone_number_id"], "15557654321", "Hello"))
    _taken_by_a_dead_worker(process_webhook_event, ABANDONED_AFTER - timedelta(minutes=1))

    assert requeue_abandoned_tasks() == 0
    assert not DBTaskResult.objects.filter(status="READY", task_path=process_webhook_event.module_path).exists()


def test_an_abandoned_send_is_not_run_again_by_this(db):
    send_message.enqueue(12345)
    _taken_by_a_dead_worker(send_message, ABANDONED_AFTER * 3)

    assert requeue_abandoned_tasks() == 0  # sends are settled by delivery's own recovery
