"""What admins do from the logs pages: replay a stored webhook."""

from django.db import transaction

from tenants import audit
from whatsapp.webhook import ingest

ReplayRefused = ingest.ReplayRefused


def replay_webhook(membership, event, *, request=None):
    """Queue a stored webhook event for processing again (safe: every item is stored at most
    once), and record who asked. Raises ReplayRefused for an event whose signature did not
    match: those are never processed."""
    with transaction.atomic():
        ingest.replay_event(event)
        audit.record(
            membership.tenant,
            audit.Action.WEBHOOK_REPLAYED,
            actor=membership.user,
            target=f"Webhook {event.pk}",
            request=request,
        )
