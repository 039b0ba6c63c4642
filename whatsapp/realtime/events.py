"""Domain events to browsers. The only caller of group_send in the project.

Events leave only after the transaction that caused them commits, so a browser never sees
a state the database does not hold. The HTML of a message or a conversation row is rendered
here once per event, from the same templates as the page, and browsers insert it as is.
"""

import asyncio
import json
import logging
import threading

from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string
from redis.exceptions import RedisError

from whatsapp.message_types import FOLLOWUP_TYPES, NOTIFICATION_TEXT_MAX

logger = logging.getLogger(__name__)


def tenant_group(tenant_id):
    return f"tenant.{tenant_id}"


def user_group(user_id):
    return f"user.{user_id}"


PUBLISH_TIMEOUT_SECONDS = 5
_publisher = {"loop": None}
_publisher_lock = threading.Lock()


def _publisher_loop():
    """One event loop per process, in a thread of its own, that every publish from sync code
    goes through. async_to_sync started a loop and a Redis connection per event: 7-11 ms
    each, twice per inbound message (bench/)."""
    with _publisher_lock:
        loop = _publisher["loop"]
        if loop is None or loop.is_closed():
            loop = _publisher["loop"] = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True).start()
        return loop


def _group_send(group, message):
    try:
        sending = asyncio.run_coroutine_threadsafe(get_channel_layer().group_send(group, message), _publisher_loop())
        sending.result(PUBLISH_TIMEOUT_SECONDS)
    except RedisError as error:
        # Redis is away: the layer closes live sockets meanwhile, and pages resynchronise once
        # they reconnect (inbox/channel_layers.py). One line, not a traceback per event.
        logger.warning("Could not publish %s to %s: %r", message.get("event", message["type"]), group, error)
    except Exception:
        # Browsers resynchronise on reconnect; a failed publish must not undo committed work.
        logger.exception("Could not publish %s to %s", message.get("event", message["type"]), group)


def frame(event, data):
    """The websocket frame of an event, encoded once here rather than by every socket's
    consumer (an event reaches every agent of the workspace)."""
    return json.dumps({"event": event, "data": data})


def _send(group, event, data):
    _group_send(group, {"type": "inbox.event", "event": event, "frame": frame(event, data)})


def _listened(tenant_ids):
    """The workspaces of `tenant_ids` that someone watches live (a socket in any web process):
    the batch paths render nothing for the others, whose events would reach nobody. One Redis
    round trip; a layer that cannot tell, or a Redis that does not answer, counts every one."""
    tenant_ids = set(tenant_ids)
    groups_listened = getattr(get_channel_layer(), "groups_listened", None)
    if groups_listened is None or not tenant_ids:
        return tenant_ids
    try:
        asking = asyncio.run_coroutine_threadsafe(
            groups_listened([tenant_group(tenant_id) for tenant_id in tenant_ids]), _publisher_loop()
        )
        groups = asking.result(PUBLISH_TIMEOUT_SECONDS)
    except Exception as error:
        logger.warning("Could not tell who listens to %d workspaces: %r", len(tenant_ids), error)
        return tenant_ids
    return {tenant_id for tenant_id in tenant_ids if tenant_group(tenant_id) in groups}


def _send_all(events):
    """Send (tenant id, event, data) triples: one channel message per workspace, whatever
    their number. A batch of webhooks moves hundreds of conversations, and each group_send is
    a Redis round trip for every process with sockets in the group; sockets still get one
    frame per event (consumers.py `inbox_events`)."""
    by_tenant = {}
    for tenant_id, event, data in events:
        by_tenant.setdefault(tenant_id, []).append(frame(event, data))
    for tenant_id, frames in by_tenant.items():
        _group_send(tenant_group(tenant_id), {"type": "inbox.events", "frames": frames})


def publish(tenant_id, event, build_data):
    """Send `event` to the tenant's browsers after commit; build_data() runs then too, and
    only when someone watches the workspace (`_listened`): an API send rendered a message and
    a conversation for nobody, two fifths of its CPU (bench/)."""

    def send():
        if tenant_id in _listened([tenant_id]):
            _send(tenant_group(tenant_id), event, build_data())

    transaction.on_commit(send)


def message_html(message):
    from whatsapp.models import Message

    Message.with_quotes([message])
    return render_to_string("whatsapp/_message.html", {"message": message})


def conversation_html(conversation):
    return render_to_string("whatsapp/_conversation_item.html", {"conversation": conversation})


def message_created(message, loaded=False):
    """A new message in a thread. Reactions, edits and deletions are not messages of the
    thread: they show on the message they change, whose own event carries them. With
    `loaded`, the caller's message is as its transaction commits it, with its author and its
    conversation's contact and tenant: it is not read again."""
    from whatsapp.models import Message

    if message.type in FOLLOWUP_TYPES:
        return

    def data():
        fresh = (
            message
            if loaded
            else Message.objects.select_related("author", "conversation__contact", "conversation__tenant").get(
                pk=message.pk
            )
        )
        Message.with_quotes([fresh])
        return _message_created_data(fresh)

    publish(message.tenant_id, "message.created", data)


def messages_created(messages):
    """message_created for new messages of one workspace, as their transaction commits them
    (loaded): one query for the messages they quote, one event each."""
    from whatsapp.models import Message

    shown = [message for message in messages if message.type not in FOLLOWUP_TYPES]

    def send_all():
        watched = _listened(message.tenant_id for message in shown)
        listened = [message for message in shown if message.tenant_id in watched]
        Message.with_quotes(listened)
        _send_all((m.tenant_id, "message.created", _message_created_data(m)) for m in listened)

    if shown:
        transaction.on_commit(send_all)


def _message_created_data(message):
    return {
        "conversation_id": message.conversation_id,
        "assignee_id": message.conversation.assignee_id,
        "contact": message.conversation.contact.display_name,
        "preview": message.text[:NOTIFICATION_TEXT_MAX],
        "message_id": message.pk,
        "direction": message.direction,
        "timestamp": message.timestamp.isoformat(),
        "html": render_to_string("whatsapp/_message.html", {"message": message}),
    }


def message_changed(message):
    """A message's status, reactions, text or deletion changed (not for a reaction, edit or
    deletion itself: see message_created)."""
    if message.type in FOLLOWUP_TYPES:
        return

    publish(message.tenant_id, "message.updated", lambda: _message_changed_data(message))


def _message_changed_data(message):
    return {
        "conversation_id": message.conversation_id,
        "message_id": message.pk,
        "status": message.status,
        "error": message.error_title,
        "html": message_html(message),
    }


# Moved ticks per message.statuses event at most: a batch of webhooks may carry thousands.
TICKS_PER_EVENT = 500


def statuses_changed(messages):
    """Messages' ticks moved (sent, delivered, read): one event per workspace, however many
    of its conversations a batch of statuses moved (up to TICKS_PER_EVENT ticks an event),
    listing each conversation's messages and their status, with the ticks' HTML once per
    status. Every agent's socket gets every event of the workspace: one event per
    conversation cost the web server more CPU than the worker spent on the statuses during
    a burst, and held customers' messages behind them (bench/midburst.py)."""
    by_tenant = {}
    for message in messages:
        if message.type not in FOLLOWUP_TYPES:
            by_tenant.setdefault(message.tenant_id, {}).setdefault(message.conversation_id, []).append(message)
    for tenant_id, by_conversation in by_tenant.items():
        for chunk in _chunks(list(by_conversation.items()), TICKS_PER_EVENT):
            publish(tenant_id, "message.statuses", lambda chunk=chunk: _ticks_data(chunk))


def _chunks(conversations, size):
    """(conversation id, messages) pairs in lists of about `size` messages; a conversation's
    messages stay in one list."""
    chunk, count = [], 0
    for conversation_id, moved in conversations:
        if chunk and count + len(moved) > size:
            yield chunk
            chunk, count = [], 0
        chunk.append((conversation_id, moved))
        count += len(moved)
    if chunk:
        yield chunk


def _ticks_data(conversations):
    statuses = {message.status: message for _id, moved in conversations for message in moved}
    return {
        "ticks_html": {
            status: render_to_string("whatsapp/_ticks.html", {"message": message})
            for status, message in statuses.items()
        },
        "conversations": [
            {
                "conversation_id": conversation_id,
                "messages": [
                    {"message_id": message.pk, "status": message.status, "wamid": message.wamid} for message in moved
                ],
            }
            for conversation_id, moved in conversations
        ],
    }


def conversation_changed(conversation, loaded=False):
    """A conversation's row changed. With `loaded`, the caller's conversation is as its
    transaction commits it, with its contact and tenant: only its labels are read."""
    from django.db.models import prefetch_related_objects

    from whatsapp.models import Conversation

    def data():
        if loaded:
            fresh = conversation
            prefetch_related_objects([fresh], "labels")  # both templates list them: one query
        else:
            fresh = (
                Conversation.objects.select_related("contact", "assignee", "tenant")
                .prefetch_related("labels")  # both templates list them: one query, not three
                .get(pk=conversation.pk)
            )
        return _conversation_data(fresh)

    publish(conversation.tenant_id, "conversation.updated", data)


def conversations_changed(conversations):
    """conversation_changed for conversations as their transaction commits them (loaded):
    one query for all their labels, one event each."""
    from django.db.models import prefetch_related_objects

    def send_all():
        watched = _listened(conversation.tenant_id for conversation in conversations)
        listened = [conversation for conversation in conversations if conversation.tenant_id in watched]
        prefetch_related_objects(listened, "labels")
        _send_all((c.tenant_id, "conversation.updated", _conversation_data(c)) for c in listened)

    if conversations:
        transaction.on_commit(send_all)


def _conversation_data(conversation):
    return {
        "conversation_id": conversation.pk,
        "last_activity_at": conversation.last_activity_at.isoformat(),
        "unread_count": conversation.unread_count,
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        "html": conversation_html(conversation),
        "meta_html": render_to_string("whatsapp/_conversation_meta.html", {"conversation": conversation}),
    }


def label_deleted(tenant_id, label_id):
    """A label is gone, and with it from every conversation: pages drop its chips and its place
    in the label menu and the filter (one small event, not a row per labelled conversation)."""
    publish(tenant_id, "label.deleted", lambda: {"label_id": label_id})


def note_html(note):
    return render_to_string("whatsapp/_note.html", {"note": note})


def note_created(note):
    def data():
        from whatsapp.models import Note

        fresh = Note.objects.select_related("author").get(pk=note.pk)
        return {
            "conversation_id": fresh.conversation_id,
            "note_id": fresh.pk,
            "timestamp": fresh.timestamp.isoformat(),
            "html": note_html(fresh),
        }

    publish(note.tenant_id, "note.created", data)


def notification_created(notification):
    """To one person only: their user group."""

    def send():
        _send(
            user_group(notification.user_id),
            "notification",
            {
                "conversation_id": notification.conversation_id,
                "text": notification.text,
                "tenant_id": notification.tenant_id,
            },
        )

    transaction.on_commit(send)


async def presence(tenant_id, user, conversation_id, hello=False):
    """Who is looking at which conversation. Not stored anywhere: browsers keep it for a
    minute and the page repeats it while open."""
    from channels.layers import get_channel_layer as layer

    await layer().group_send(
        tenant_group(tenant_id),
        {
            "type": "inbox.event",
            "event": "presence",
            "frame": frame(
                "presence",
                {"user_id": user.pk, "name": user.display_name, "conversation_id": conversation_id, "hello": hello},
            ),
        },
    )


def contact_panel_html(contact):
    """The side panel, as every member sees it: no per-user parts, no CSRF token (the page's
    script sends the token in a header)."""
    return render_to_string("whatsapp/_contact_panel.html", {"contact": contact, "tenant": contact.tenant})


def contact_changed(contact):
    """A contact's name, notes, custom fields or blocked state changed."""
    from whatsapp.models import Contact

    def data():
        fresh = Contact.objects.select_related("tenant").get(pk=contact.pk)
        return {
            "contact_id": fresh.pk,
            "display_name": fresh.display_name,
            "blocked": fresh.blocked,
            "html": contact_panel_html(fresh),
        }

    publish(contact.tenant_id, "contact.updated", data)


def access_changed(*, user_id=None, tenant_id=None):
    """Ask the open sockets of one person, or of one workspace, to check their access again,
    after commit. The event carries nothing: sockets re-read the database, and one whose access
    has ended closes (consumers.py). Pages never see it."""
    group = user_group(user_id) if user_id is not None else tenant_group(tenant_id)
    transaction.on_commit(lambda: _group_send(group, {"type": "access.changed"}))


def template_row_html(template):
    return render_to_string("whatsapp/_template_row.html", {"template": template})


def template_changed(template, deleted=False):
    """A template was created, edited, deleted or reviewed by Meta: the templates page
    replaces its row and says what happened."""
    template_id, name, status, reason = template.pk, template.name, template.status, template.reason

    def data():
        return {
            "template_id": template_id,
            "name": name,
            "status": "DELETED" if deleted else status,
            "reason": reason,
            "html": "" if deleted else template_row_html(template),
        }

    publish(template.tenant_id, "template.updated", data)
