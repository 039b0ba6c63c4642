"""Reading a thread: its messages and the team's notes in time order, with the messages
they quote."""

from .message_types import FOLLOWUP_TYPES
from .models import Message, Note


def thread_messages(conversation, limit):
    """The latest `limit` messages, oldest first, with the notes written among them.
    Reactions, edits and deletions are shown on the messages they change, not as messages
    of their own."""
    latest = list(
        Message.objects.filter(conversation=conversation)
        .exclude(type__in=FOLLOWUP_TYPES)
        .select_related("author", "conversation__contact", "conversation__tenant", "media_file")
        .order_by("-timestamp", "-pk")[:limit]
    )
    notes = Note.objects.filter(conversation=conversation).select_related("author")
    if len(latest) == limit:
        notes = notes.filter(timestamp__gte=latest[-1].timestamp)
    items = with_quotes(latest) + list(notes.order_by("-timestamp")[:limit])
    return sorted(items, key=lambda item: (item.timestamp, isinstance(item, Note), item.pk))


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
