"""What an agent does to a conversation from its thread. Each view: access, one action,
a JSON answer (the page updates from the realtime event that follows)."""

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.http import Http404, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tenants.access import tenant_view

from . import conversations, realtime
from .access import access_conversation, access_message
from .actions import ActionError
from .models import Label


def _error(error):
    return JsonResponse({"error": str(error)}, status=400)


def snooze_until(choice, custom=""):
    """The end of a snooze: in an hour, tomorrow at 9:00, next Monday at 9:00, or a time."""
    now = timezone.localtime()
    morning = time(9, 0)
    if choice == "hour":
        return now + timedelta(hours=1)
    if choice == "tomorrow":
        return timezone.make_aware(datetime.combine(now.date() + timedelta(days=1), morning))
    if choice == "week":
        days = 7 - now.weekday()
        return timezone.make_aware(datetime.combine(now.date() + timedelta(days=days), morning))
    try:
        return timezone.make_aware(datetime.fromisoformat(custom))
    except (TypeError, ValueError):
        return None


@require_POST
@tenant_view()
def set_status(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    status = request.POST.get("status", "")
    until = snooze_until(request.POST.get("snooze", ""), request.POST.get("until", "")) if status == "snoozed" else None
    try:
        conversation = conversations.set_status(membership, conversation, status, until)
    except ActionError as error:
        return _error(error)
    return JsonResponse({"status": conversation.status})


@require_POST
@tenant_view()
def assign(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    choice = request.POST.get("assignee", "")
    if choice == "me":
        assignee = membership.user
    elif choice:
        # Only this workspace's members are looked up: any other id, whether or not such a
        # person exists elsewhere, gets the same answer.
        assignee = get_user_model().objects.filter(
            pk=int(choice) if choice.isdigit() else None, memberships__tenant=membership.tenant
        ).first()
        if assignee is None:
            return _error(conversations.NOT_A_MEMBER)
    else:
        assignee = None
    try:
        conversation = conversations.assign(membership, conversation, assignee)
    except ActionError as error:
        return _error(error)
    return JsonResponse({"assignee_id": conversation.assignee_id})


@require_POST
@tenant_view()
def toggle_label(request, membership, conversation_id, label_id):
    conversation = access_conversation(membership, conversation_id)
    label = Label.objects.filter(pk=label_id, tenant=membership.tenant).first()
    if label is None:
        raise Http404("No such label.")
    conversations.toggle_label(membership, conversation, label)
    return JsonResponse({"labels": list(conversation.labels.values_list("pk", flat=True))})


@require_POST
@tenant_view()
def add_note(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    try:
        note = conversations.add_note(membership, conversation, request.POST.get("text", ""))
    except ActionError as error:
        return _error(error)
    return JsonResponse({"note_id": note.pk, "html": realtime.note_html(note)}, status=201)


@require_POST
@tenant_view()
def react(request, membership, conversation_id, message_id):
    conversation = access_conversation(membership, conversation_id)
    target = access_message(conversation, message_id)
    try:
        reaction = conversations.react(membership, conversation, target, request.POST.get("emoji", ""))
    except ActionError as error:
        return _error(error)
    return JsonResponse({"message_id": reaction.pk}, status=201)


@require_POST
@tenant_view()
def typing(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    return JsonResponse({"sent": conversations.indicate_typing(conversation)})
