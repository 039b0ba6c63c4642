"""Reading a thread: a page of its messages and the team's notes in time order, with the
messages they quote.

A thread is paged by key (inbox/paging.py): a page is at most paging.PAGE_SIZE messages in
(timestamp, id) order, so the cost of a page does not grow with the thread. The latest page
is the default; `before=<message id>` is the page just older than that message, and
`at=<message id>` the page that starts with it (a link to any message, however old).
"""

from dataclasses import dataclass

from inbox import paging
from whatsapp.message_types import FOLLOWUP_TYPES
from whatsapp.models import Message, Note


@dataclass
class ThreadPage:
    items: list  # messages and notes, oldest first
    earlier: int | None = None  # the `before` key of the page before this one, if any
    later: int | None = None  # the `at` key of the page after this one; None on the latest page


def thread_page(conversation, *, before=None, at=None):
    """The page of the conversation's thread asked for by `before` or `at` (message ids of
    this conversation; an id that is not is ignored), else the latest page.
    Reactions, edits and deletions are shown on the messages they change, not as messages
    of their own."""
    size = paging.PAGE_SIZE
    messages = (
        Message.objects.filter(conversation=conversation)
        .exclude(type__in=FOLLOWUP_TYPES)
        .select_related("author", "tenant", "conversation__contact", "conversation__tenant", "media_file")
    )
    key = paging.key_of(Message.objects.filter(conversation=conversation), at or before, "timestamp")
    if key and at:
        page = list(messages.filter(paging.from_on(key, "timestamp")).order_by("timestamp", "pk")[: size + 1])
        if len(page) > size:
            earlier_exists = messages.filter(paging.older_than(key, "timestamp")).exists()
            return _page(conversation, page[:size], earlier_exists=earlier_exists, next_key=_key_of(page[size]))
        # The message is on the latest page: show that one, full.
    older = messages.filter(paging.older_than(key, "timestamp")) if key and before else messages
    latest = list(paging.newest_first(older, "timestamp")[: size + 1])
    return _page(conversation, latest[:size][::-1], earlier_exists=len(latest) > size, next_key=key if before else None)


def _key_of(message):
    return {"timestamp": message.timestamp, "pk": message.pk}


def _page(conversation, messages, *, earlier_exists, next_key):
    """The page's messages with their quotes, and the notes written among them: from the
    first message's time (from the start, on the first page) to the next page's first message
    (to now, on the latest page)."""
    notes = Note.objects.filter(conversation=conversation).select_related("author")
    if messages and earlier_exists:
        notes = notes.filter(timestamp__gte=messages[0].timestamp)
    if next_key:
        notes = notes.filter(timestamp__lt=next_key["timestamp"])
    items = Message.with_quotes(messages) + list(notes.order_by("-timestamp")[: paging.PAGE_SIZE])
    items.sort(key=lambda item: (item.timestamp, isinstance(item, Note), item.pk))
    earlier = messages[0].pk if messages and earlier_exists else None
    return ThreadPage(items, earlier=earlier, later=next_key["pk"] if next_key else None)
