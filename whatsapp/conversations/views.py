"""The agent's pages: the inbox, a conversation's thread, sending."""

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from inbox import paging
from tenants.access import tenant_view
from tenants.models import Membership
from whatsapp import message_types
from whatsapp.access import access_conversation, access_label
from whatsapp.conversations import actions as conversations
from whatsapp.conversations.threads import thread_page
from whatsapp.errors import ActionError
from whatsapp.models import WINDOW_CLOSING_SOON, CannedResponse, Conversation, Label, MessageTemplate, Note
from whatsapp.realtime import events as realtime

COUNTED_UP_TO = 1000
STATUS_FILTERS = ["open", "pending", "snoozed", "resolved", "all"]
ASSIGNEE_FILTERS = ["mine", "unassigned", "all"]


def inbox_filters(params):
    """The list's filters from the query string, with their defaults."""
    status = params.get("status") if params.get("status") in STATUS_FILTERS else "open"
    assignee = params.get("assignee") if params.get("assignee") in ASSIGNEE_FILTERS else "all"
    label = params.get("label") if (params.get("label") or "").isdigit() else ""
    number = params.get("number") if (params.get("number") or "").isdigit() else ""
    closing = params.get("closing") == "1"
    return {"status": status, "assignee": assignee, "label": label, "number": number, "closing": closing}


def filter_conversations(membership, filters, with_assignee=True):
    conversations_ = Conversation.objects.filter(tenant=membership.tenant)
    if filters["status"] != "all":
        conversations_ = conversations_.filter(status=filters["status"])
    if filters["label"]:
        conversations_ = conversations_.filter(labels__pk=filters["label"])
    if filters["number"]:
        conversations_ = conversations_.filter(phone_number_id=filters["number"])
    if filters["closing"]:
        now = timezone.now()
        conversations_ = conversations_.filter(window_closes_at__gt=now, window_closes_at__lt=now + WINDOW_CLOSING_SOON)
    if with_assignee and filters["assignee"] == "mine":
        conversations_ = conversations_.filter(assignee=membership.user)
    elif with_assignee and filters["assignee"] == "unassigned":
        conversations_ = conversations_.filter(assignee__isnull=True)
    return conversations_


def assignee_counts(membership, filters):
    """How many conversations each of mine / unassigned / all would show, as the page shows
    them: counted up to COUNTED_UP_TO, so counting costs the same at any size, and "999+"
    when the count reached it."""
    shown = filter_conversations(membership, filters, with_assignee=False)
    counted = {
        "mine": shown.filter(assignee=membership.user)[:COUNTED_UP_TO].count(),
        "unassigned": shown.filter(assignee__isnull=True)[:COUNTED_UP_TO].count(),
        "all": shown[:COUNTED_UP_TO].count(),
    }
    shown_max = COUNTED_UP_TO - 1
    return {name: f"{shown_max:,}+" if count > shown_max else str(count) for name, count in counted.items()}


def conversation_page(membership, filters, before):
    """A page of the list, latest activity first, and the key of the next one (or None).
    Paged by key (the index on (tenant, last_activity_at)): `before` is the conversation the
    previous page ended with."""
    listed = filter_conversations(membership, filters).select_related("contact", "assignee", "tenant")
    scope = Conversation.objects.filter(tenant=membership.tenant)
    return paging.older_page(listed.prefetch_related("labels"), before, scope=scope, by="last_activity_at")


def inbox_context(request, membership, conversation=None):
    filters = inbox_filters(request.GET)
    listed, older = conversation_page(membership, filters, paging.page_key(request.GET.get("conversations_before")))
    tenant = membership.tenant
    members = Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email")
    return {
        "membership": membership,
        "tenant": tenant,
        "conversations": listed,
        "older_conversations": older,
        "list_paged": "conversations_before" in request.GET,
        "list_query": _without(request.GET, "conversations_before", "before", "at"),
        "conversation": conversation,
        "thread": _thread(request, conversation) if conversation else None,
        "paging_query": _without(request.GET, "before", "at"),
        "filters": filters,
        "counts": assignee_counts(membership, filters),
        "labels": Label.objects.filter(tenant=tenant),
        "numbers": tenant.phone_numbers.order_by("display_phone_number"),
        "members": members,
        "query": request.GET.urlencode(),
        "reaction_emoji": message_types.REACTION_EMOJI,
        "text_max": message_types.TEXT_MAX,
        "note_max": Note.TEXT_MAX,
        "templates": MessageTemplate.objects.filter(tenant=tenant, status="APPROVED").order_by("name", "language")
        if conversation and not conversation.window_is_open
        else [],
        "page_data": {
            "me": membership.user_id,
            "filters": filters,
            "closing_soon_ms": WINDOW_CLOSING_SOON // timedelta(milliseconds=1),
            "template_value_max": message_types.TEMPLATE_VALUE_MAX,
            "typing_every_ms": conversations.TYPING_EVERY // timedelta(milliseconds=1),
            "canned": list(CannedResponse.objects.filter(tenant=tenant).values("shortcut", "text")),
            "members": [
                {"id": m.user_id, "handle": m.user.email.split("@")[0], "name": m.user.display_name} for m in members
            ],
        },
    }


def _thread(request, conversation):
    """The page of the thread the URL asks for: the latest, or ?before= / ?at= a message."""
    return thread_page(
        conversation, before=paging.page_key(request.GET.get("before")), at=paging.page_key(request.GET.get("at"))
    )


def _without(params, *names):
    """The query string without `names`, ending in & when not empty, for links to add theirs."""
    kept = params.copy()
    for name in names:
        kept.pop(name, None)
    return f"{kept.urlencode()}&" if kept else ""


@require_GET
@tenant_view()
def inbox(request, membership):
    return render(request, "whatsapp/inbox.html", inbox_context(request, membership))


@require_GET
@tenant_view()
def counts(request, membership):
    """Mine / Unassigned / All for the list's filters, as the page shows them ("999+"): the
    page asks again when a conversation changes, since each person's "Mine" differs."""
    return JsonResponse(assignee_counts(membership, inbox_filters(request.GET)))


@require_GET
@tenant_view()
def conversation(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    conversations.read_by_agent(conversation)
    return render(request, "whatsapp/inbox.html", inbox_context(request, membership, conversation))


@require_POST
@tenant_view()
def mark_read(request, membership, conversation_id):
    conversations.read_by_agent(access_conversation(membership, conversation_id))
    return JsonResponse({"unread_count": 0})


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
        assignee = (
            get_user_model()
            .objects.filter(pk=int(choice) if choice.isdigit() else None, memberships__tenant=membership.tenant)
            .first()
        )
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
    conversations.toggle_label(membership, conversation, access_label(membership, label_id))
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
def typing(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    return JsonResponse({"sent": conversations.indicate_typing(conversation)})
