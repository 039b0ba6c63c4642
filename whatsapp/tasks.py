"""Background work (Django Tasks API, database backend)."""

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from . import cloud_api, conversations, delivery, ingest, media_actions, privacy, throttle

logger = logging.getLogger(__name__)

MAINTENANCE_EVERY = timedelta(seconds=30)


@task(queue_name="webhooks")
def process_webhook_event(event_id):
    ingest.process_event_id(event_id)


@task()
def send_message(message_id):
    """Send one queued message. A message that is not queued any more, or not its turn, is
    left alone, so running this twice never sends twice."""
    message = delivery.claim(message_id)
    if message is None:
        return
    number = message.conversation.phone_number
    if not throttle.wait_for_slot(number.phone_number_id, number.messages_per_second):
        # Every slot of this second is taken for a while: let other work go first.
        delivery.retry_later(message, cloud_api.CloudAPIError(130429, "Throughput limit"), 1)
        return
    try:
        wamid = cloud_api.send_message(message)
    except cloud_api.CloudAPIError as error:
        _handle_send_error(message, error)
        return
    delivery.mark_sent(message, wamid)


def _handle_send_error(message, error):
    if error.is_token_problem:
        delivery.pause_sending(message, error)
    elif (delay := error.retry_delay(message.send_attempts)) is not None:
        logger.warning("Send of message %s failed (%s); retrying in %s s", message.pk, error, delay)
        delivery.retry_later(message, error, delay)
    else:
        logger.warning("Send of message %s failed for good: %s", message.pk, error)
        delivery.mark_failed(message, error)


@task()
def mark_read(conversation_id, typing):
    """Read receipt (and typing indicator) for the customer's latest message. Best effort:
    a failure is logged in the Graph API call log and not retried."""
    from .conversations import latest_inbound_wamid
    from .models import Conversation

    conversation = Conversation.objects.select_related("phone_number", "tenant__whatsapp").get(pk=conversation_id)
    wamid = latest_inbound_wamid(conversation)
    if wamid is None:
        return
    try:
        cloud_api.mark_read(conversation.phone_number, conversation.tenant.whatsapp, wamid, typing=typing)
    except cloud_api.CloudAPIError as error:
        logger.warning("Read receipt for conversation %s failed: %s", conversation_id, error)


@task()
def sync_templates(tenant_id):
    from tenants.models import Tenant

    from . import team

    try:
        team.sync_templates(Tenant.objects.get(pk=tenant_id))
    except (cloud_api.CloudAPIError, team.ActionError) as error:
        logger.warning("Template sync for tenant %s failed: %s", tenant_id, error)
        team.note_sync_attempt(tenant_id)  # try again at the next hourly turn, not every 30 s


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
        privacy.enqueue_purge_if_due()
        from .team import tenants_due_for_template_sync

        for tenant_id in tenants_due_for_template_sync():
            sync_templates.enqueue(tenant_id)
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


@task(queue_name="media")
def download_media(media_file_id):
    """Fetch one inbound file into our storage; retries enqueue themselves with backoff."""
    media_actions.download_inbound_file(media_file_id)


@task(queue_name="default")
def purge_expired_data():
    """Each workspace's retention period (hourly, from the maintenance job); runs again at
    once while a workspace has more than one run's worth left."""
    if privacy.purge_expired_data():
        purge_expired_data.enqueue()


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
            DBTaskResult.objects.select_for_update(skip_locked=True)
            .filter(status="RUNNING", started_at__lt=cutoff, task_path__in=resumable)[:1000]
        )
        for result in abandoned:
            result.status, result.finished_at = "FAILED", timezone.now()
            result.exception_class_path = "whatsapp.tasks.Abandoned"
            result.traceback = "The worker running this job stopped before it finished; the job was enqueued again."
            result.save(update_fields=["status", "finished_at", "exception_class_path", "traceback"])
            arguments = result.args_kwargs or {}
            resumable[result.task_path].using(priority=result.priority).enqueue(
                *arguments.get("args", []), **arguments.get("kwargs", {}))
    if abandoned:
        logger.warning("Maintenance: %s job(s) abandoned by a stopped worker enqueued again", len(abandoned))
    return len(abandoned)
