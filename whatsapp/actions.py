"""Every change to inbox state goes through a function here, and each publishes its own
realtime event after commit. Views, tasks and the webhook pipeline call these; nothing else
saves inbox rows."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction

from . import delivery, message_types, realtime
from .models import (
    SERVICE_WINDOW,
    Contact,
    Conversation,
    Message,
    MessageStatus,
    PhoneNumber,
)

logger = logging.getLogger(__name__)


class ActionError(Exception):
    """A request the user can fix: the message says how."""


@dataclass
class InboundMessage:
    """A customer's message, as read from one item of a webhook."""

    wamid: str
    wa_id: str
    user_id: str
    profile_name: str
    timestamp: datetime
    type: str
    text: str = ""
    content: dict = field(default_factory=dict)
    reply_to_wamid: str = ""
    target_wamid: str = ""


def find_or_create_contact(tenant, wa_id, user_id, profile_name):
    """The contact Meta names by phone number, by business-scoped user id, or both."""
    if not (wa_id or user_id):
        raise ValueError("The message names no sender: no wa_id and no user_id.")
    lookup = {"wa_id": wa_id} if wa_id else {"user_id": user_id}
    contact, created = Contact.objects.get_or_create(
        tenant=tenant, **lookup, defaults={"wa_id": wa_id, "user_id": user_id, "profile_name": profile_name}
    )
    changed = {
        name: value
        for name, value in (("user_id", user_id), ("wa_id", wa_id), ("profile_name", profile_name))
        if value and getattr(contact, name) != value
    }
    if changed and not created:
        for name, value in changed.items():
            setattr(contact, name, value)
        contact.save(update_fields=[*changed, "updated_at"])
    return contact


def _conversation_for(tenant, contact, phone_number):
    conversation, _ = Conversation.objects.get_or_create(tenant=tenant, contact=contact, phone_number=phone_number)
    return conversation


def _touch_conversation(conversation, message, *, inbound):
    """Move the conversation's activity, preview, unread count and service window forward."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    conversation.tenant = message.tenant  # loaded already: auto_assign reads its settings
    fields = []
    if message.timestamp >= conversation.last_activity_at or conversation.last_message_preview == "":
        conversation.last_activity_at = max(message.timestamp, conversation.last_activity_at)
        conversation.last_message_preview = message_types.preview_of(message.type, message.text)
        fields += ["last_activity_at", "last_message_preview"]
    if inbound:
        from . import conversations

        conversation.unread_count += 1
        if conversation.last_inbound_at is None or message.timestamp > conversation.last_inbound_at:
            conversation.last_inbound_at = message.timestamp
            conversation.window_closes_at = message.timestamp + SERVICE_WINDOW
        fields += ["unread_count", "last_inbound_at", "window_closes_at"]
        fields += conversations.reopen_for_inbound(conversation)
        if conversations.auto_assign(conversation):
            fields.append("assignee")
    conversation.save(update_fields=fields)
    realtime.conversation_changed(conversation)
    return conversation


def receive_message(tenant, phone_number, inbound):
    """Store a customer's message once. Returns it, or None when it was already stored.

    Reactions, edits and deletions are stored too, and applied to the message they name,
    now or when that message arrives."""
    with transaction.atomic():
        contact = find_or_create_contact(tenant, inbound.wa_id, inbound.user_id, inbound.profile_name)
        conversation = _conversation_for(tenant, contact, phone_number)
        message = Message(
            tenant=tenant,
            conversation=conversation,
            direction=Message.Direction.IN,
            type=inbound.type,
            text=inbound.text,
            content=inbound.content,
            wamid=inbound.wamid,
            reply_to_wamid=inbound.reply_to_wamid,
            target_wamid=inbound.target_wamid,
            status=MessageStatus.DELIVERED,
            timestamp=inbound.timestamp,
        )
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            return None  # Meta sent it again: it is stored already.
        if message.type in message_types.FOLLOWUP_TYPES:
            apply_followups(tenant, message.target_wamid)
            return message
        if message.type == "system":
            _apply_system_change(contact, message)
        if message.type in message_types.MEDIA_TYPES:
            from .media_actions import expect_inbound_file

            expect_inbound_file(message)
        if contact.blocked:
            # Stored, never lost, but it raises nothing: no unread count, no reopening or
            # moving up the list, no live event. Opening the thread shows it (contacts.py).
            apply_followups(tenant, message.wamid)
            return message
        _touch_conversation(conversation, message, inbound=message.type != "system")
        apply_followups(tenant, message.wamid)
        realtime.message_created(message)
    return message


def apply_followups(tenant, wamid):
    """Bring a message up to date with every reaction, edit and deletion that names it,
    whatever order they came in."""
    if not wamid:
        return None
    naming = Message.objects.filter(tenant=tenant, target_wamid=wamid, type__in=message_types.FOLLOWUP_TYPES)
    if not naming.exists():
        return None  # the usual case for a new message: one query, no lock
    target = Message.objects.select_for_update().filter(tenant=tenant, wamid=wamid).first()
    # Read after the lock: a followup committed while we waited for it counts too.
    followups = list(naming.order_by("timestamp", "pk"))
    if target is None:
        return None
    reactions = {}
    for followup in followups:
        who = "customer" if followup.direction == Message.Direction.IN else str(followup.author_id or "business")
        if followup.type == "reaction":
            reactions[who] = followup.text  # an empty emoji removes the reaction
        elif followup.type == "edit":
            target.text, target.edited_at = followup.text, followup.timestamp
        elif followup.type == "revoke":
            target.deleted_at = followup.timestamp
    target.reactions = {who: emoji for who, emoji in reactions.items() if emoji}
    target.save(update_fields=["reactions", "text", "edited_at", "deleted_at"])
    realtime.message_changed(target)
    if any(followup.type != "reaction" for followup in followups):
        _refresh_preview(target.conversation_id)
    return target


def _refresh_preview(conversation_id):
    """After an edit or a deletion, the preview shows the latest message as it now reads."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    latest = (
        Message.objects.filter(conversation=conversation)
        .exclude(type__in=message_types.FOLLOWUP_TYPES)
        .order_by("-timestamp", "-pk")
        .first()
    )
    if latest is None:
        return
    preview = "🚫 Deleted message" if latest.deleted_at else message_types.preview_of(latest.type, latest.text)
    if preview != conversation.last_message_preview:
        conversation.last_message_preview = preview
        conversation.save(update_fields=["last_message_preview"])
        realtime.conversation_changed(conversation)


def _apply_system_change(contact, message):
    """A customer who changed number keeps their contact, under the new number."""
    system = message.content.get("system") or {}
    new_wa_id = system.get("wa_id") or system.get("new_wa_id") or ""
    if system.get("type") != "user_changed_number" or not new_wa_id or new_wa_id == contact.wa_id:
        return
    if Contact.objects.filter(tenant=contact.tenant, wa_id=new_wa_id).exists():
        return  # a contact has that number already: merging is a person's decision
    contact.wa_id = new_wa_id
    contact.save(update_fields=["wa_id", "updated_at"])


def send_reply(membership, conversation, text, reply_to=None):
    """Queue an agent's text reply, quoting `reply_to` (a message of this conversation) if
    given; a worker sends it (whatsapp.delivery)."""
    # Browsers send a textarea's line breaks as CRLF; WhatsApp shows plain newlines.
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ActionError("Write a message first.")
    if len(text) > 4096:
        raise ActionError("WhatsApp text messages are limited to 4,096 characters.")
    _require_open_window(conversation)
    if reply_to is not None and (reply_to.conversation_id != conversation.pk or not reply_to.wamid):
        raise ActionError("You can quote a message of this conversation that reached WhatsApp.")
    with transaction.atomic():
        message = delivery.queue_new(conversation, membership.user, type="text", text=text,
                                     reply_to_wamid=reply_to.wamid if reply_to else "")
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        _touch_conversation(conversation, message, inbound=False)
        realtime.message_created(message)
        if conversation.tenant.read_receipts == conversation.tenant.ReadReceipts.ON_REPLY:
            from . import conversations

            conversations.send_read_receipt(conversation)
    return message


def _require_open_window(conversation):
    if not conversation.window_is_open:
        raise ActionError(
            "The 24-hour window is closed: the customer has not written in the last 24 hours. "
            "Only a template can be sent now."
        )


def send_media_reply(membership, conversation, upload, caption=""):
    """Queue an agent's file with an optional caption. The file is checked against Meta's
    types and limits before anything happens, and kept in our storage with the message."""
    from . import media, media_actions

    caption = caption.replace("\r\n", "\n").strip()
    try:
        checked = media.check_outbound_file(upload, caption)
    except media.FileRefused as error:
        raise ActionError(str(error))
    _require_open_window(conversation)
    with transaction.atomic():
        content = {checked.kind: {"mime_type": checked.mime_type, "caption": caption, "filename": checked.filename}}
        message = delivery.queue_new(conversation, membership.user, type=checked.kind, text=caption, content=content)
        media_actions.keep_outbound_file(message, upload, checked)
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        _touch_conversation(conversation, message, inbound=False)
        realtime.message_created(message)
    return message


def mark_conversation_read(conversation):
    if conversation.unread_count:
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        conversation.unread_count = 0
        realtime.conversation_changed(conversation)


def phone_number_for(tenant, phone_number_id):
    return PhoneNumber.objects.filter(tenant=tenant, phone_number_id=phone_number_id).first()
