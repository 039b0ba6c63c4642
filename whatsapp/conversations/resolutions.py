"""The record of each time a conversation was resolved, for the dashboard's resolution time.

The inbox's resolve action calls record_resolution() in its own transaction, after it has
set the conversation's status; nothing else writes ConversationResolution rows.
"""

from django.utils import timezone

from whatsapp.message_types import FOLLOWUP_TYPES
from whatsapp.models import ConversationResolution, Message


def record_resolution(conversation, by=None, at=None):
    """Keep one resolution of `conversation`, by user `by` (None for the system), at `at`
    (now by default). Its resolution time starts at the customer's first message after the
    previous resolution; with no such message (resolved twice in a row) it has none."""
    at = at or timezone.now()
    previous = (
        ConversationResolution.objects.filter(conversation=conversation, resolved_at__lt=at)
        .order_by("-resolved_at")
        .values_list("resolved_at", flat=True)
        .first()
    )
    inbound = Message.objects.filter(conversation=conversation, direction=Message.Direction.IN, timestamp__lte=at)
    inbound = inbound.exclude(type__in=(*FOLLOWUP_TYPES, "system"))
    if previous is not None:
        inbound = inbound.filter(timestamp__gt=previous)
    opened_at = inbound.order_by("timestamp", "pk").values_list("timestamp", flat=True).first()
    return ConversationResolution.objects.create(
        tenant_id=conversation.tenant_id, conversation=conversation, opened_at=opened_at, resolved_at=at, resolved_by=by
    )
