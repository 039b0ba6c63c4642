"""The maintenance job: every 30 seconds, the upkeep no request triggers (stuck sends,
abandoned jobs, snoozes ending, retention, template syncs, the dashboard's figures)."""

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from hooks import delivery as hooks_delivery
from whatsapp.contacts import privacy
from whatsapp.conversations import actions as conversations
from whatsapp.media.actions import download_media
from whatsapp.sending import delivery
from whatsapp.team import actions as team
from whatsapp.webhook.ingest import process_webhook_event

logger = logging.getLogger(__name__)

MAINTENANCE_EVERY = timedelta(seconds=30)


class Abandoned(Exception):
    """What an abandoned job's result names as its failure (django-tasks imports the class)."""


@task(queue_name="default")
def maintain_delivery():
    """Every 30 seconds: settle sends whose worker died, requeue forgotten messages, and
    bring the dashboard's recorded figures up to date."""
    from dashboard import facts

    try:
        facts.catch_up(seconds=5)
        stuck = delivery.give_up_on_stuck_sends()
        requeued = delivery.requeue_forgotten()
        requeue_abandoned_tasks()
        conversations.wake_snoozed()
        hooks_delivery.sweep()  # outgoing webhooks whose job was lost
        privacy.enqueue_purge_if_due()
        for tenant_id in team.tenants_due_for_template_sync():
            team.sync_templates_job.enqueue(tenant_id)
        if stuck or requeued:
            logger.warning("Maintenance: %s stuck send(s) marked unknown, %s message(s) requeued", stuck, requeued)
    finally:
        schedule_maintenance(after=MAINTENANCE_EVERY)


def schedule_maintenance(after=None):
    """Make sure exactly one maintenance job is waiting (idempotent)."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(task_path=maintain_delivery.module_path, status="READY")
    if not waiting.exists():
        run_after = timezone.now() + after if after else None
        (maintain_delivery.using(run_after=run_after) if run_after else maintain_delivery).enqueue()


# No webhook is processed, and no file fetched, for this long: its worker has died.
ABANDONED_AFTER = timedelta(minutes=10)


def requeue_abandoned_tasks(now=None):
    """A job whose worker was killed mid-task (SIGKILL, out of memory, a lost machine) stays
    RUNNING for ever, and its webhook event would stay pending. Processing a webhook and
    fetching a file are safe to run again (each item is stored at most once), so such jobs
    are marked failed and enqueued anew. Sends have their own recovery (delivery's
    give_up_on_stuck_sends and requeue_forgotten), as a send must never run twice."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    resumable = {task.module_path: task for task in (process_webhook_event, download_media)}
    cutoff = (now or timezone.now()) - ABANDONED_AFTER
    with transaction.atomic():
        abandoned = list(
            DBTaskResult.objects.select_for_update(skip_locked=True).filter(
                status="RUNNING", started_at__lt=cutoff, task_path__in=resumable
            )[:1000]
        )
        for result in abandoned:
            result.status, result.finished_at = "FAILED", timezone.now()
            result.exception_class_path = f"{Abandoned.__module__}.{Abandoned.__qualname__}"
            result.traceback = "The worker running this job stopped before it finished; the job was enqueued again."
            result.save(update_fields=["status", "finished_at", "exception_class_path", "traceback"])
            arguments = result.args_kwargs or {}
            resumable[result.task_path].using(priority=result.priority).enqueue(
                *arguments.get("args", []), **arguments.get("kwargs", {})
            )
    if abandoned:
        logger.warning("Maintenance: %s job(s) abandoned by a stopped worker enqueued again", len(abandoned))
    return len(abandoned)
