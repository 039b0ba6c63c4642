"""Every change to inbox state goes through a function here, and each publishes its own
realtime event after commit. Views, tasks and the webhook pipeline call these; nothing else
saves inbox rows."""

import logging
import re
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django_tasks import task

from inbox.lengths import fit
from tenants.models import Membership, Role
from whatsapp import hook_events, message_types
from whatsapp.cloud import api as cloud_api
from whatsapp.conversations.resolutions import record_resolution
from whatsapp.errors import ActionError
from whatsapp.models import (
    SERVICE_WINDOW,
    Conversation,
    Message,
    Note,
    Notification,
    PhoneNumber,
)
from whatsapp.realtime import events as realtime

logger = logging.getLogger(__name__)


def touch_conversation(conversation, message, *, inbound):
    """Move the conversation's activity, preview, unread count and service window forward.
    Returns the conversation as saved, with its contact and tenant."""
    conversation = (
        Conversation.objects.select_for_update(of=("self",)).select_related("contact").get(pk=conversation.pk)
    )
    conversation.tenant = message.tenant  # loaded already: auto_assign reads its settings
    previous_status = conversation.status
    fields = advance(conversation, message, inbound=inbound)
    conversation.save(update_fields=fields)
    announce(conversation, previous_status, fields)
    realtime.conversation_changed(conversation, loaded=True)
    return conversation


def advance(conversation, message, *, inbound):
    """touch_conversation's change, on a locked conversation in memory: returns the fields
    it changed, for the caller to save (receiving.py saves many conversations at once)."""
    fields = []
    # A conversation no message has touched yet has its creation time as its activity: its
    # first message's own time replaces it (Meta's times are whole seconds, and the creation
    # time, a little later, would keep the next message of that second from counting as newer).
    if message.timestamp >= conversation.last_activity_at or conversation.last_message_preview == "":
        conversation.last_activity_at = message.timestamp
        conversation.last_message_preview = message_types.preview_of(message.type, message.text)
        fields += ["last_activity_at", "last_message_preview"]
    if inbound:
        conversation.unread_count += 1
        if conversation.last_inbound_at is None or message.timestamp > conversation.last_inbound_at:
            conversation.last_inbound_at = message.timestamp
            conversation.window_closes_at = message.timestamp + SERVICE_WINDOW
        fields += ["unread_count", "last_inbound_at", "window_closes_at"]
        fields += reopen_for_inbound(conversation)
        if auto_assign(conversation):
            fields.append("assignee")
    return fields


def announce(conversation, previous_status, fields):
    """What other systems hear of advance()'s change, once it is saved."""
    if "status" in fields:
        hook_events.conversation_updated(conversation, previous_status)
    if "assignee" in fields:
        hook_events.conversation_assigned(conversation, None)


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


def mark_conversation_read(conversation):
    if conversation.unread_count:
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        conversation.unread_count = 0
        realtime.conversation_changed(conversation)


def read_by_agent(conversation):
    """An agent has the conversation open: nothing in it is unread any more, and the customer
    sees blue ticks if the workspace sends them when an agent opens the conversation."""
    mark_conversation_read(conversation)
    if conversation.tenant.read_receipts == conversation.tenant.ReadReceipts.ON_OPEN:
        send_read_receipt(conversation)


def phone_number_for(tenant, phone_number_id):
    return PhoneNumber.objects.filter(tenant=tenant, phone_number_id=phone_number_id).first()


TYPING_EVERY = timedelta(seconds=20)  # Meta shows the indicator for up to 25 s


def _locked(conversation):
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def set_status(membership, conversation, status, snoozed_until=None):
    if status not in Conversation.Status.values:
        raise ActionError("Unknown status.")
    if status == Conversation.Status.SNOOZED and (snoozed_until is None or snoozed_until <= timezone.now()):
        raise ActionError("Choose a time in the future to snooze until.")
    with transaction.atomic():
        conversation = _locked(conversation)
        newly_resolved = status == Conversation.Status.RESOLVED and conversation.status != status
        previous_status = conversation.status
        conversation.status = status
        conversation.snoozed_until = snoozed_until if status == Conversation.Status.SNOOZED else None
        conversation.save(update_fields=["status", "snoozed_until"])
        if newly_resolved:
            record_resolution(conversation, by=membership.user)  # the dashboard's resolution times
        if previous_status != status:
            hook_events.conversation_updated(conversation, previous_status)
        realtime.conversation_changed(conversation)
    return conversation


def reopen_for_inbound(conversation):
    """A new message from the customer reopens a resolved, pending or snoozed conversation.
    Called while a customer's message is stored (receiving.py), on a locked row."""
    if conversation.status != Conversation.Status.OPEN:
        conversation.status = Conversation.Status.OPEN
        conversation.snoozed_until = None
        return ["status", "snoozed_until"]
    return []


def wake_snoozed(now=None):
    """Snoozed conversations whose time has come are open again."""
    due = Conversation.objects.filter(status=Conversation.Status.SNOOZED, snoozed_until__lte=now or timezone.now())
    woken = 0
    for conversation in due:
        with transaction.atomic():
            conversation = _locked(conversation)
            if conversation.status == Conversation.Status.SNOOZED:
                conversation.status, conversation.snoozed_until = Conversation.Status.OPEN, None
                conversation.save(update_fields=["status", "snoozed_until"])
                hook_events.conversation_updated(conversation, Conversation.Status.SNOOZED)
                realtime.conversation_changed(conversation)
                woken += 1
    return woken


NOT_A_MEMBER = "That person is not a member of this workspace."


def assign(membership, conversation, assignee):
    """Give the conversation to a member (or to nobody). Agents may only take it themselves
    or let it go; admins assign anyone."""
    is_admin = membership.has_role(Role.ADMIN)
    if not is_admin and assignee not in (None, membership.user):
        raise PermissionDenied("Only admins assign conversations to others.")
    if not is_admin and assignee is None and conversation.assignee_id not in (None, membership.user_id):
        raise PermissionDenied("Only admins take a conversation away from someone else.")
    if assignee is not None and not Membership.objects.filter(tenant=membership.tenant, user=assignee).exists():
        raise ActionError(NOT_A_MEMBER)
    with transaction.atomic():
        conversation = _locked(conversation)
        previous_assignee_id = conversation.assignee_id
        conversation.assignee = assignee
        conversation.save(update_fields=["assignee"])
        if previous_assignee_id != conversation.assignee_id:
            hook_events.conversation_assigned(conversation, previous_assignee_id)
        realtime.conversation_changed(conversation)
    return conversation


def auto_assign(conversation):
    """Round robin among available agents: the one who waited longest gets it. Called while a
    customer's message is stored (receiving.py); the membership rows are locked so that two processes
    never pick the same turn."""
    tenant = conversation.tenant
    if not tenant.auto_assign or conversation.assignee_id:
        return None
    candidate = (
        Membership.objects.select_for_update(skip_locked=True)
        .filter(tenant=tenant, available=True, user__is_active=True)
        .order_by(F("last_assigned_at").asc(nulls_first=True), "pk")
        .first()
    )
    if candidate is None:
        return None
    candidate.last_assigned_at = timezone.now()
    candidate.save(update_fields=["last_assigned_at"])
    conversation.assignee_id = candidate.user_id
    return candidate.user


def toggle_label(membership, conversation, label):
    if label.tenant_id != membership.tenant_id:
        raise ActionError("No such label.")
    with transaction.atomic():
        if conversation.labels.filter(pk=label.pk).exists():
            conversation.labels.remove(label)
        else:
            conversation.labels.add(label)
        realtime.conversation_changed(conversation)


MENTION = re.compile(r"@([\w.+-]+)")


def add_note(membership, conversation, text):
    """A private note for the team. @name (the part of an email before the @) notifies."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ActionError("Write a note first.")
    if len(text) > Note.TEXT_MAX:
        raise ActionError(f"A note can have at most {Note.TEXT_MAX:,} characters.")
    with transaction.atomic():
        note = Note.objects.create(
            tenant=membership.tenant, conversation=conversation, author=membership.user, text=text
        )
        mentioned = _mentioned_members(membership.tenant, text)
        note.mentions.set(mentioned)
        for user in mentioned:
            if user != membership.user:
                words = text[: message_types.NOTIFICATION_TEXT_MAX]
                notify(user, conversation, f"{membership.user.display_name} mentioned you: {words}")
        realtime.note_created(note)
    return note


def _mentioned_members(tenant, text):
    handles = {handle.lower().rstrip(".") for handle in MENTION.findall(text)}
    if not handles:
        return []
    members = Membership.objects.filter(tenant=tenant).select_related("user")
    return [m.user for m in members if m.user.email.split("@")[0].lower() in handles]


def notify(user, conversation, text):
    notification = Notification.objects.create(
        tenant_id=conversation.tenant_id, user=user, conversation=conversation, text=fit(Notification, "text", text)
    )
    realtime.notification_created(notification)
    return notification


def latest_inbound_wamid(conversation):
    return (
        Message.objects.filter(conversation=conversation, direction=Message.Direction.IN, wamid__isnull=False)
        .exclude(type__in=("reaction", "edit", "revoke"))
        .order_by("-timestamp", "-pk")
        .values_list("wamid", flat=True)
        .first()
    )


def send_read_receipt(conversation):
    """Mark the customer's messages read (blue ticks), once per new message from them."""
    from whatsapp.conversations.actions import mark_read

    if conversation.last_inbound_at is None:
        return False
    # New since the last receipt by arrival: Meta's timestamps are whole seconds, so a message
    # in the same second as the last receipt would look older than it.
    arrived_since = Message.objects.filter(
        conversation_id=OuterRef("pk"), direction=Message.Direction.IN, created_at__gt=OuterRef("read_receipt_sent_at")
    ).exclude(type__in=("reaction", "edit", "revoke"))
    claimed = (
        Conversation.objects.filter(pk=conversation.pk)
        .filter(Q(read_receipt_sent_at__isnull=True) | Exists(arrived_since))
        .update(read_receipt_sent_at=timezone.now())
    )
    if claimed:
        mark_read.enqueue(conversation.pk, False)
    return bool(claimed)


def indicate_typing(conversation):
    """Show "typing…" to the customer; at most every 20 s per conversation, whichever
    process the agent's keystrokes reach."""
    from whatsapp.conversations.actions import mark_read

    if not conversation.window_is_open:
        return False
    now = timezone.now()
    claimed = (
        Conversation.objects.filter(pk=conversation.pk)
        .filter(Q(typing_indicated_at__isnull=True) | Q(typing_indicated_at__lt=now - TYPING_EVERY))
        .update(typing_indicated_at=now)
    )
    if claimed:
        mark_read.enqueue(conversation.pk, True)
    return bool(claimed)


@task()
def mark_read(conversation_id, typing):
    """Read receipt (and typing indicator) for the customer's latest message. Best effort:
    a failure is logged in the Graph API call log and not retried."""
    from whatsapp.conversations.actions import latest_inbound_wamid
    from whatsapp.models import Conversation

    conversation = Conversation.objects.select_related("phone_number", "tenant__whatsapp").get(pk=conversation_id)
    wamid = latest_inbound_wamid(conversation)
    if wamid is None:
        return
    try:
        cloud_api.mark_read(conversation.phone_number, conversation.tenant.whatsapp, wamid, typing=typing)
    except cloud_api.CloudAPIError as error:
        logger.warning("Read receipt for conversation %s failed: %s", conversation_id, error)
