"""How a team works a conversation: status, snoozing, assignment, labels, notes, reactions,
read receipts and typing. Each action checks the role that may do it, changes state, and
publishes its own event."""

import re
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tenants.models import Membership, Role

from . import delivery, realtime
from .actions import ActionError
from .models import Conversation, Label, Message, Note, Notification
from .resolutions import record_resolution

TYPING_EVERY = timedelta(seconds=20)  # Meta shows the indicator for up to 25 s
REACTION_EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🙏"]


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
        conversation.status = status
        conversation.snoozed_until = snoozed_until if status == Conversation.Status.SNOOZED else None
        conversation.save(update_fields=["status", "snoozed_until"])
        if newly_resolved:
            record_resolution(conversation, by=membership.user)  # the dashboard's resolution times
        realtime.conversation_changed(conversation)
    return conversation


def reopen_for_inbound(conversation):
    """A new message from the customer reopens a resolved, pending or snoozed conversation.
    Called inside receive_message's transaction, on a locked row."""
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
        conversation.assignee = assignee
        conversation.save(update_fields=["assignee"])
        realtime.conversation_changed(conversation)
    return conversation


def auto_assign(conversation):
    """Round robin among available agents: the one who waited longest gets it. Called in
    receive_message's transaction; the membership rows are locked so that two processes
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


def create_label(membership, name):
    name = " ".join(name.split())[:40]
    if not name:
        raise ActionError("A label needs a name.")
    color = Label.COLORS[Label.objects.filter(tenant=membership.tenant).count() % len(Label.COLORS)]
    label, _ = Label.objects.get_or_create(tenant=membership.tenant, name=name, defaults={"color": color})
    return label


MENTION = re.compile(r"@([\w.+-]+)")


def add_note(membership, conversation, text):
    """A private note for the team. @name (the part of an email before the @) notifies."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ActionError("Write a note first.")
    with transaction.atomic():
        note = Note.objects.create(
            tenant=membership.tenant, conversation=conversation, author=membership.user, text=text[:10000]
        )
        mentioned = _mentioned_members(membership.tenant, text)
        note.mentions.set(mentioned)
        for user in mentioned:
            if user != membership.user:
                notify(user, conversation, f"{membership.user.display_name} mentioned you: {text[:120]}")
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
        tenant_id=conversation.tenant_id, user=user, conversation=conversation, text=text[:255]
    )
    realtime.notification_created(notification)
    return notification


def react(membership, conversation, target, emoji):
    """The agent reacts to a customer's message (an empty emoji removes the reaction)."""
    if emoji and emoji not in REACTION_EMOJI:
        raise ActionError("Choose one of the offered reactions.")
    if target.conversation_id != conversation.pk or target.direction != Message.Direction.IN or not target.wamid:
        raise ActionError("You can react to the customer's messages only.")
    with transaction.atomic():
        reaction = delivery.queue_new(conversation, membership.user, type="reaction", text=emoji,
                                      target_wamid=target.wamid)
        from .actions import apply_followups

        apply_followups(conversation.tenant, target.wamid)
    return reaction


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
    from .tasks import mark_read

    if conversation.last_inbound_at is None:
        return False
    claimed = Conversation.objects.filter(pk=conversation.pk).filter(
        Q(read_receipt_sent_at__isnull=True) | Q(read_receipt_sent_at__lt=F("last_inbound_at"))
    ).update(read_receipt_sent_at=timezone.now())
    if claimed:
        mark_read.enqueue(conversation.pk, False)
    return bool(claimed)


def indicate_typing(conversation):
    """Show "typing…" to the customer; at most every 20 s per conversation, whichever
    process the agent's keystrokes reach."""
    from .tasks import mark_read

    if not conversation.window_is_open:
        return False
    now = timezone.now()
    claimed = Conversation.objects.filter(pk=conversation.pk).filter(
        Q(typing_indicated_at__isnull=True) | Q(typing_indicated_at__lt=now - TYPING_EVERY)
    ).update(typing_indicated_at=now)
    if claimed:
        mark_read.enqueue(conversation.pk, True)
    return bool(claimed)


def send_template(membership, conversation, template, values):
    """Queue a template message with its variables filled in. Checked against the
    template's components first: every placeholder needs a value, and only an approved
    template can be sent."""
    if template.tenant_id != membership.tenant_id:
        raise ActionError("No such template.")
    if template.status != "APPROVED":
        raise ActionError(f"Template {template.name} is {template.status.lower() or 'not approved'}: it cannot be sent.")
    variables = template.variables
    values = [" ".join(str(value).split()) for value in values]
    if len(values) != len(variables) or any(not value for value in values):
        raise ActionError(f"Template {template.name} needs {len(variables)} value(s), none empty.")
    if any(len(value) > 1024 for value in values):
        raise ActionError("A template value may have at most 1,024 characters.")
    filled = dict(zip(variables, values))
    with transaction.atomic():
        message = delivery.queue_new(conversation, membership.user, type="template",
                                     text=_fill(template.body_text, "BODY", filled),
                                     content={"template": _template_payload(template, filled)})
        from .actions import _touch_conversation

        _touch_conversation(conversation, message, inbound=False)
        realtime.message_created(message)
    return message


def _fill(text, kind, filled):
    from .models import TEMPLATE_VARIABLE

    return TEMPLATE_VARIABLE.sub(lambda match: filled.get((kind, match.group(1)), match.group(0)), text)


def _template_payload(template, filled):
    """Meta's `template` object: name, language and the parameters of each component."""
    components = []
    for kind in ("HEADER", "BODY"):
        parameters = []
        for (component, name), value in filled.items():
            if component == kind:
                parameter = {"type": "text", "text": value}
                if not name.isdigit():
                    parameter["parameter_name"] = name
                parameters.append(parameter)
        if parameters:
            components.append({"type": kind.lower(), "parameters": parameters})
    return {"name": template.name, "language": {"code": template.language}, "components": components}
