"""Conversations: the inbox's list (its filters, cursor paging), one conversation, changing
its status, assignee and labels, and its messages newest first."""

from typing import Literal

from django.db import transaction
from django.db.models import prefetch_related_objects
from ninja import Field, Query, Router, Schema

from accounts.models import User
from inbox import paging
from whatsapp.access import access_conversation, access_label
from whatsapp.conversations import actions as conversation_actions
from whatsapp.conversations.views import conversation_page, inbox_filters
from whatsapp.models import Message

from . import auth
from .common import PathId, answer, cursor, page
from .idempotency import idempotent
from .messages import ERRORS, message_out
from .models import Scope
from .problems import Problem
from .schemas import ConversationChange, ConversationOut, ConversationPage, MessagePage

router = Router(tags=["conversations"])


class ConversationFilters(Schema):
    status: Literal["open", "pending", "snoozed", "resolved", "all"] = "open"
    assignee: Literal["unassigned", "all"] = "all"
    label: int | None = Field(None, ge=1, le=2**63 - 1)
    closing: bool = False
    cursor: str | None = None


@router.get(
    "/conversations",
    response={200: ConversationPage, **ERRORS},
    summary="List conversations",
    operation_id="list_conversations",
)
def list_conversations(request, filters: Query[ConversationFilters]):
    """Latest activity first, `next_cursor` leads to the next page. The filters are the inbox's."""
    auth.require(request, Scope.READ)
    actor = auth.actor(request)
    params = {"status": filters.status, "assignee": filters.assignee, "closing": "1" if filters.closing else ""}
    if filters.label:
        params["label"] = str(filters.label)
    rows, next_key = conversation_page(actor, inbox_filters(params), cursor(filters.cursor))
    prefetch_related_objects(rows, "phone_number")
    return page([conversation_out(row) for row in rows], next_key)


@router.get(
    "/conversations/{int:conversation_id}", response={200: ConversationOut, **ERRORS}, operation_id="read_conversation"
)
def read_conversation(request, conversation_id: PathId):
    auth.require(request, Scope.READ)
    return conversation_out(access_conversation(auth.actor(request), conversation_id))


@router.post(
    "/conversations/{int:conversation_id}",
    response={200: ConversationOut, **ERRORS},
    operation_id="change_conversation",
)
@idempotent
def change_conversation(request, conversation_id: PathId, body: ConversationChange):
    """Change any of status (with `snoozed_until` for snoozed), assignee (a member's email,
    "" for nobody: assigning others needs the manage scope) and labels, at once."""
    auth.require(request, Scope.SEND)
    actor = auth.actor(request)
    conversation = access_conversation(actor, conversation_id)
    with transaction.atomic():
        if body.status:
            conversation = conversation_actions.set_status(actor, conversation, body.status, body.snoozed_until)
        if body.assignee is not None:
            assignee = _member(actor, body.assignee) if body.assignee else None
            conversation = conversation_actions.assign(actor, conversation, assignee)
        current = set(conversation.labels.values_list("pk", flat=True))
        for label_id in body.add_labels:
            if label_id not in current:
                conversation_actions.toggle_label(actor, conversation, access_label(actor, label_id))
        for label_id in body.remove_labels:
            if label_id in current:
                conversation_actions.toggle_label(actor, conversation, access_label(actor, label_id))
    return answer(ConversationOut, conversation_out(access_conversation(actor, conversation_id)))


class MessageCursor(Schema):
    cursor: str | None = None


@router.get(
    "/conversations/{int:conversation_id}/messages",
    response={200: MessagePage, **ERRORS},
    operation_id="conversation_messages",
)
def conversation_messages(request, conversation_id: PathId, query: Query[MessageCursor]):
    """The conversation's messages, newest first, a page at a time."""
    auth.require(request, Scope.READ)
    conversation = access_conversation(auth.actor(request), conversation_id)
    scope = Message.objects.filter(conversation=conversation)
    rows, next_key = paging.older_page(scope, cursor(query.cursor), scope=scope, by="timestamp")
    return page([message_out(row) for row in rows], next_key)


def _member(actor, email):
    user = User.objects.filter(email__iexact=email, memberships__tenant=actor.tenant).first()
    if user is None:
        raise Problem("validation-error", "assignee: no member of this workspace has that email.")
    return user


def conversation_out(conversation):
    return {
        "id": conversation.pk,
        "status": conversation.status,
        "contact": contact_out(conversation.contact),
        "phone_number_id": conversation.phone_number.phone_number_id,
        "assignee": conversation.assignee.email if conversation.assignee_id else None,
        "labels": [{"id": label.pk, "name": label.name} for label in conversation.labels.all()],
        "unread_count": conversation.unread_count,
        "last_activity_at": conversation.last_activity_at,
        "last_message_preview": conversation.last_message_preview,
        "window_closes_at": conversation.window_closes_at,
        "snoozed_until": conversation.snoozed_until,
    }


def contact_out(contact):
    return {
        field: getattr(contact, field)
        for field in (
            "id", "wa_id", "user_id", "name", "profile_name", "notes", "attributes", "blocked",
            "marketing_opted_out", "marketing_opted_out_at", "marketing_opt_out_source", "marketing_opted_in_at",
            "marketing_opt_in_source", "created_at", "updated_at",
        )
    }  # fmt: skip
