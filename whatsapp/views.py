"""The agent's pages: the inbox, a conversation's thread, sending."""

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenants.access import tenant_view

from . import actions, delivery, realtime
from .access import access_conversation, access_message
from .models import Conversation
from .threads import thread_messages

CONVERSATIONS_SHOWN = 100
MESSAGES_SHOWN = 200


def _inbox_context(membership, conversation=None):
    conversations = (
        Conversation.objects.filter(tenant=membership.tenant)
        .select_related("contact", "assignee", "tenant")
        .order_by("-last_activity_at", "-pk")[:CONVERSATIONS_SHOWN]
    )
    messages = []
    if conversation is not None:
        messages = thread_messages(conversation, MESSAGES_SHOWN)
    return {
        "membership": membership,
        "tenant": membership.tenant,
        "conversations": conversations,
        "conversation": conversation,
        "thread_messages": messages,
    }


@require_GET
@tenant_view()
def inbox(request, membership):
    return render(request, "whatsapp/inbox.html", _inbox_context(membership))


@require_GET
@tenant_view()
def conversation(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    actions.mark_conversation_read(conversation)
    return render(request, "whatsapp/inbox.html", _inbox_context(membership, conversation))


@require_POST
@tenant_view()
def send(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        message = actions.send_reply(membership, conversation, request.POST.get("text", ""))
    except actions.ActionError as error:
        if wants_json:
            return JsonResponse({"error": str(error)}, status=400)
        return render(
            request,
            "whatsapp/inbox.html",
            _inbox_context(membership, conversation) | {"send_error": str(error)},
            status=400,
        )
    if wants_json:
        return JsonResponse(
            {"message_id": message.pk, "status": message.status, "html": realtime.message_html(message)}, status=201
        )
    return redirect("whatsapp:conversation", slug=membership.tenant.slug, conversation_id=conversation.pk)


@require_POST
@tenant_view()
def mark_read(request, membership, conversation_id):
    conversation = access_conversation(membership, conversation_id)
    actions.mark_conversation_read(conversation)
    return JsonResponse({"unread_count": 0})


@require_POST
@tenant_view()
def resend(request, membership, conversation_id, message_id):
    conversation = access_conversation(membership, conversation_id)
    message = access_message(conversation, message_id)
    try:
        delivery.resend(message)
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"message_id": message.pk, "status": message.status})
