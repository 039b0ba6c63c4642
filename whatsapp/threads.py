"""Reading a thread: its messages in Meta's time order, with the messages they quote."""

from .message_types import FOLLOWUP_TYPES
from .models import Message


def thread_messages(conversation, limit):
    """The latest `limit` messages, oldest first. Reactions, edits and deletions are shown
    on the messages they change, not as messages of their own."""
    latest = (
        Message.objects.filter(conversation=conversation)
        .exclude(type__in=FOLLOWUP_TYPES)
        .select_related("author", "conversation__contact", "tenant", "media_file")
        .order_by("-timestamp", "-pk")[:limit]
    )
    return with_quotes(list(reversed(latest)))


def with_quotes(messages):
    """Set `.quoted` on each message that replies to another: one query for them all."""
    wanted = {m.reply_to_wamid for m in messages if m.reply_to_wamid}
    found = {}
    if wanted:
        tenant_id = messages[0].tenant_id
        found = {m.wamid: m for m in Message.objects.filter(tenant_id=tenant_id, wamid__in=wanted)}
    for message in messages:
        message.quoted = found.get(message.reply_to_wamid)
    return messages
