"""A customer's messages, from what a webhook's items say to the thread.

`receive_messages` stores the ordinary messages (text, media, answers to buttons…) that one
processing batch read for one number together: their contacts, conversations and rows in a
few statements whatever their number, each conversation moved forward once, and the live
events published after commit (one query for what they show). A webhook worker reads a
hundred events at a time (webhook/ingest.py), and per-message statements cost more than the
message's own work did (bench/process_cost.py). `receive_message` stores one; it takes the
messages that change another one (reactions, edits, deletions) and system messages (a number
change) one by one.

Each message is stored once: Meta sends some twice, and a batch may be processed again after
a crash (the database's unique keys decide; a copy comes back as None).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from whatsapp import hook_events, message_types
from whatsapp.conversations import actions as conversations
from whatsapp.models import Contact, Conversation, Message, MessageStatus
from whatsapp.realtime import events as realtime


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
    new_wa_id: str = ""  # a number change's new number

    @property
    def together(self):
        """Whether receive_messages takes it with others (see the module)."""
        return self.type not in ONE_BY_ONE_TYPES and not self.new_wa_id

    @property
    def sender_key(self):
        """How the contact is found: by phone number when Meta gives it, else by user id."""
        if not (self.wa_id or self.user_id):
            raise ValueError("The message names no sender: no wa_id and no user_id.")
        return ("wa_id", self.wa_id) if self.wa_id else ("user_id", self.user_id)


ONE_BY_ONE_TYPES = (*message_types.FOLLOWUP_TYPES, "system")


def receive_message(tenant, phone_number, inbound):
    """Store a customer's message once. Returns it, or None when it was already stored.

    Reactions, edits and deletions are stored too, and applied to the message they name,
    now or when that message arrives."""
    if inbound.together:
        return receive_messages(tenant, phone_number, [inbound])[0]
    with transaction.atomic():
        contact = _contacts_for(tenant, [inbound])[inbound.sender_key]
        conversation = _conversations_for(tenant, phone_number, [contact])[contact.pk]
        message = _new_message(tenant, conversation, inbound)
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            return None  # Meta sent it again: it is stored already.
        hook_events.messages_received([message])
        if message.type in message_types.FOLLOWUP_TYPES:
            conversations.apply_followups(tenant, message.target_wamid)
            return message
        if inbound.new_wa_id:
            _move_to_new_number(contact, inbound.new_wa_id)
        if contact.blocked:
            conversations.apply_followups(tenant, message.wamid)
            return message
        message.conversation = conversations.touch_conversation(conversation, message, inbound=message.type != "system")
        conversations.apply_followups(tenant, message.wamid)
        realtime.message_created(message, loaded=True)
    return message


def receive_messages(tenant, phone_number, inbounds):
    """Store customers' ordinary messages to one number (each `together`), each once. Returns
    what became of each, in order: its message, or None when it was stored already.

    A blocked contact's message is stored, never lost, but raises nothing: no unread count,
    no reopening or moving up the list, no live event (opening the thread shows it)."""
    with transaction.atomic():
        contacts = _contacts_for(tenant, inbounds)
        by_contact = _conversations_for(tenant, phone_number, contacts.values())
        stored = _store_new(tenant, inbounds, {key: by_contact[c.pk] for key, c in contacts.items()})
        new = [message for message in stored if message is not None]
        hook_events.messages_received(new)
        for message in new:
            if message.type in message_types.MEDIA_TYPES:
                from whatsapp.media.actions import expect_inbound_file

                expect_inbound_file(message)
        shown = [message for message in new if not message.conversation.contact.blocked]
        touched = _move_forward(shown)
        _apply_followups_naming(tenant, new)
        # The messages first: an open thread shows one before the list's rows are rendered.
        realtime.messages_created(shown)
        realtime.conversations_changed(touched)
    return stored


def _contacts_for(tenant, inbounds):
    """Each sender's contact (sender key: contact), created when new, with what Meta says of
    them now (user id, number, profile name) kept: one read, and one insert when some are new."""
    keys = {inbound.sender_key: inbound for inbound in reversed(inbounds)}  # the first of each
    found = _contacts_named(tenant, keys)
    # In one order, as the conversations below: two batches inserting the same new customers
    # (threads or workers side by side) wait for each other instead of deadlocking.
    missing = sorted(key for key in keys if key not in found)
    if missing:
        Contact.objects.bulk_create(
            [
                Contact(
                    tenant=tenant, wa_id=keys[key].wa_id, user_id=keys[key].user_id, profile_name=keys[key].profile_name
                )
                for key in missing
            ],
            ignore_conflicts=True,  # another worker's copy, or another key's contact (below)
        )
        found.update(_contacts_named(tenant, missing))
    for key in keys:
        if key not in found:  # its user id or number is another contact's: no insert took it
            raise IntegrityError(f"Contact {key[1]!r} could not be created: a contact has its other id.")
    changed = {}
    for inbound in inbounds:
        contact = found[inbound.sender_key]
        for name in ("user_id", "wa_id", "profile_name"):
            value = getattr(inbound, name)
            if value and getattr(contact, name) != value:
                setattr(contact, name, value)
                changed.setdefault(contact.pk, (contact, set()))[1].add(name)
    for _pk, (contact, names) in sorted(changed.items()):
        contact.save(update_fields=[*names, "updated_at"])
    if changed:
        hook_events.contacts_updated(tenant.pk, [contact for contact, _names in changed.values()])
    return found


def _contacts_named(tenant, keys):
    wa_ids = [value for name, value in keys if name == "wa_id"]
    user_ids = [value for name, value in keys if name == "user_id"]
    named = Q(wa_id__in=wa_ids) if wa_ids else Q()
    if user_ids:
        named = named | Q(user_id__in=user_ids) if wa_ids else Q(user_id__in=user_ids)
    found = {}
    for contact in Contact.objects.filter(named, tenant=tenant):
        if contact.wa_id in wa_ids:
            found[("wa_id", contact.wa_id)] = contact
        if contact.user_id in user_ids:
            found[("user_id", contact.user_id)] = contact
    return found


def _conversations_for(tenant, phone_number, contacts):
    """Each contact's conversation with the number (contact id: conversation), created when
    new, locked until the transaction ends, with its contact and tenant."""
    contacts = {contact.pk: contact for contact in contacts}
    mine = Conversation.objects.filter(tenant=tenant, phone_number=phone_number, contact_id__in=contacts)
    existing = set(mine.values_list("contact_id", flat=True))
    inserted = {}
    if len(existing) < len(contacts):
        inserted = {
            conversation.contact_id: conversation
            for conversation in Conversation.objects.bulk_create(
                [
                    Conversation(tenant=tenant, contact_id=pk, phone_number=phone_number)
                    for pk in sorted(contacts)
                    if pk not in existing
                ],
                ignore_conflicts=True,  # another worker's, created meanwhile: it is the one
            )
        }
    found = {}
    for conversation in mine.select_for_update(of=("self",)).order_by("pk"):
        conversation.tenant, conversation.phone_number = tenant, phone_number
        conversation.contact = contacts[conversation.contact_id]
        found[conversation.contact_id] = conversation
        # Ours when it bears the creation time of our insert: another worker's has its own.
        ours = inserted.get(conversation.contact_id)
        if ours is not None and ours.created_at == conversation.created_at:
            hook_events.conversation_created(conversation)
    return found


def _new_message(tenant, conversation, inbound):
    return Message(
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


def _store_new(tenant, inbounds, conversation_of):
    """Insert the messages not stored yet (Meta's wamid decides), in one statement. Returns,
    for each inbound message, its new row or None."""
    for _attempt in range(3):
        stored_already = set(
            Message.objects.filter(tenant=tenant, wamid__in=[inbound.wamid for inbound in inbounds]).values_list(
                "wamid", flat=True
            )
        )
        stored = []
        for inbound in inbounds:
            if inbound.wamid in stored_already:
                stored.append(None)
                continue
            stored_already.add(inbound.wamid)  # the same message twice in one batch: once
            stored.append(_new_message(tenant, conversation_of[inbound.sender_key], inbound))
        try:
            with transaction.atomic():
                Message.objects.bulk_create([message for message in stored if message is not None])
        except IntegrityError:
            continue  # another worker stored one of them meanwhile: look again
        return stored
    raise IntegrityError("Messages of this batch kept being stored by another worker meanwhile.")


def _move_forward(messages):
    """Each conversation the messages are in moves forward once for all of them (activity,
    preview, unread count, window, reopening, assignment), in one statement. Returns them."""
    in_conversation = {}
    for message in messages:
        in_conversation.setdefault(message.conversation_id, []).append(message)
    moved, fields = [], set()
    for arrived in in_conversation.values():
        conversation = arrived[0].conversation
        previous_status, changed = conversation.status, set()
        for message in arrived:
            changed.update(conversations.advance(conversation, message, inbound=True))
            message.conversation = conversation
        fields |= changed
        moved.append((conversation, previous_status, changed))
    if not moved:
        return []
    _save_moved([conversation for conversation, _, _ in moved], fields)
    for conversation, previous_status, changed in moved:
        conversations.announce(conversation, previous_status, changed)
    return [conversation for conversation, _, _ in moved]


# What advance() may change, written for every moved conversation at once. Their rows are
# locked since they were read (_conversations_for), so writing what did not change is safe.
SAVE_MOVED_SQL = """
    UPDATE whatsapp_conversation conversation SET
        last_activity_at = moved.last_activity_at, last_message_preview = moved.last_message_preview,
        unread_count = moved.unread_count, last_inbound_at = moved.last_inbound_at,
        window_closes_at = moved.window_closes_at, status = moved.status,
        snoozed_until = moved.snoozed_until, assignee_id = moved.assignee_id
    FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::integer[], %s::timestamptz[],
                %s::timestamptz[], %s::text[], %s::timestamptz[], %s::bigint[])
        AS moved(id, last_activity_at, last_message_preview, unread_count, last_inbound_at,
                 window_closes_at, status, snoozed_until, assignee_id)
    WHERE conversation.id = moved.id
"""
MOVED_COLUMNS = (
    "pk",
    "last_activity_at",
    "last_message_preview",
    "unread_count",
    "last_inbound_at",
    "window_closes_at",
    "status",
    "snoozed_until",
    "assignee_id",
)


def _save_moved(moved, fields):
    """One statement on PostgreSQL (Django's bulk_update builds a CASE per row and field: it
    cost more than the rest of a batch); a save per conversation elsewhere."""
    if connection.vendor != "postgresql":
        for conversation in moved:
            conversation.save(update_fields=sorted(fields))
        return
    columns = [[getattr(conversation, name) for conversation in moved] for name in MOVED_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(SAVE_MOVED_SQL, columns)


def _apply_followups_naming(tenant, messages):
    """Reactions, edits and deletions that came before the message they name apply now."""
    wamids = [message.wamid for message in messages if message.wamid]
    if not wamids:
        return
    named = (
        Message.objects.filter(tenant=tenant, target_wamid__in=wamids, type__in=message_types.FOLLOWUP_TYPES)
        .values_list("target_wamid", flat=True)
        .distinct()
    )
    for wamid in list(named):
        conversations.apply_followups(tenant, wamid)


def _move_to_new_number(contact, new_wa_id):
    """A customer who changed number keeps their contact, under the new number."""
    if new_wa_id == contact.wa_id:
        return
    if Contact.objects.filter(tenant=contact.tenant, wa_id=new_wa_id).exists():
        return  # a contact has that number already: merging is a person's decision
    contact.wa_id = new_wa_id
    contact.save(update_fields=["wa_id", "updated_at"])
    hook_events.contacts_updated(contact.tenant_id, [contact])
