"""Background work (Django Tasks API, database backend)."""

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from . import actions, cloud_api, ingest, media_actions

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 8


def retry_delay(attempt):
    """Exponential backoff: 2, 4, 8 … seconds, at most five minutes."""
    return timedelta(seconds=min(2**attempt, 300))


@task(queue_name="webhooks")
def process_webhook_event(event_id):
    ingest.process_event_id(event_id)


@task()
def send_message(message_id):
    """Send one queued message. A message that is not queued any more is left alone,
    so running this twice never sends twice."""
    message = actions.claim_for_sending(message_id)
    if message is None:
        return
    try:
        wamid = cloud_api.send_message(message)
    except cloud_api.CloudAPIError as error:
        attempts = actions.count_attempt(message)
        if error.retryable and attempts < MAX_SEND_ATTEMPTS:
            logger.warning("Send of message %s failed (%s); retrying", message.pk, error)
            actions.retry_later(message, run_after=timezone.now() + retry_delay(attempts))
        else:
            logger.warning("Send of message %s failed for good: %s", message.pk, error)
            actions.mark_failed(message, error)
        return
    actions.count_attempt(message)
    actions.mark_sent(message, wamid)


@task(queue_name="media")
def download_media(media_file_id):
    """Fetch one inbound file into our storage; retries enqueue themselves with backoff."""
    media_actions.download_inbound_file(media_file_id)
