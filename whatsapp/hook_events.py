"""What the inbox tells other systems (outgoing webhooks, hooks/): each function builds one
event's body from the object the calling action just changed, and records it in that
action's transaction. A body is built only when an endpoint of the tenant takes the event.
The bodies are documented in docs/webhooks.md; change both together."""

import hooks
from hooks import event_types as types


def _time(value):
    return value.isoformat() if value else None


def _contact(contact):
    return {
        "id": contact.pk,
        "wa_id": contact.wa_id,
        "user_id": contact.user_id,
        "profile_name": contact.profile_name,
        "name": contact.name,
        "blocked": contact.blocked,
        "marketing_opted_out": contact.marketing_opted_out,
    }


def _message(message):
    return {
        "id": message.pk,
        "wamid": message.wamid,
        "direction": message.direction,
        "type": message.type,
        "text": message.text,
        "status": message.status,
        "timestamp": _time(message.timestamp),
    }


def _conversation(conversation):
    from django.contrib.auth import get_user_model

    assignee = None
    if conversation.assignee_id:
        email = get_user_model().objects.filter(pk=conversation.assignee_id).values_list("email", flat=True).first()
        assignee = {"id": conversation.assignee_id, "email": email}
    return {
        "id": conversation.pk,
        "status": conversation.status,
        "snoozed_until": _time(conversation.snoozed_until),
        "assignee": assignee,
        "contact_id": conversation.contact_id,
        "phone_number_id": conversation.phone_number_id,
        "created_at": _time(conversation.created_at),
    }


def messages_received(messages):
    """Customers' new messages, each with its contact (message.conversation.contact): one
    check per workspace, one insert per workspace that listens."""
    by_tenant = {}
    for message in messages:
        if hooks.subscribed(message.tenant_id, types.MESSAGE_RECEIVED):
            by_tenant.setdefault(message.tenant_id, []).append(message)
    for tenant_id, received in by_tenant.items():
        items = [
            (
                {
                    "message": {**_message(m), "content": m.content, "reply_to_wamid": m.reply_to_wamid},
                    "contact": _contact(m.conversation.contact),
                },
                m.conversation_id,
            )
            for m in received
        ]
        hooks.emit_many(tenant_id, types.MESSAGE_RECEIVED, items)


def message_status_changed(message):
    """A message moved to sent, delivered, read or failed (with Meta's code and reason)."""
    if hooks.subscribed(message.tenant_id, types.MESSAGE_STATUS_CHANGED):
        hooks.emit(
            message.tenant_id,
            types.MESSAGE_STATUS_CHANGED,
            _status_data(message),
            conversation_id=message.conversation_id,
        )


def messages_status_changed(messages):
    """message_status_changed for a batch (the worker's batched statuses and sends): one check
    per workspace, one read of what the batch's rows lack, one insert per workspace."""
    from whatsapp.models import Message

    by_tenant = {}
    for message in messages:
        if hooks.subscribed(message.tenant_id, types.MESSAGE_STATUS_CHANGED):
            by_tenant.setdefault(message.tenant_id, []).append(message)
    if not by_tenant:
        return
    wanted = [message.pk for batch in by_tenant.values() for message in batch]
    full = Message.objects.in_bulk(wanted)  # a batch's rows may hold only the status columns
    for tenant_id, batch in by_tenant.items():
        items = []
        for message in batch:
            loaded = full.get(message.pk, message)
            items.append((_status_data(loaded), message.conversation_id))
        hooks.emit_many(tenant_id, types.MESSAGE_STATUS_CHANGED, items)


def _status_data(message):
    return {
        "message": _message(message),
        "status": message.status,
        "status_changed_at": _time(message.status_changed_at),
        "error": {"code": message.error_code, "title": message.error_title, "detail": message.error_detail}
        if message.status == "failed"
        else None,
    }


def conversation_event(conversation, event_type, **extra):
    if hooks.subscribed(conversation.tenant_id, event_type):
        data = {"conversation": _conversation(conversation), **extra}
        hooks.emit(conversation.tenant_id, event_type, data, conversation_id=conversation.pk)


def conversation_created(conversation):
    conversation_event(conversation, types.CONVERSATION_CREATED)


def conversation_updated(conversation, previous_status):
    conversation_event(conversation, types.CONVERSATION_UPDATED, previous_status=previous_status)
    if conversation.status == "resolved" and previous_status != "resolved":
        conversation_event(conversation, types.CONVERSATION_RESOLVED)


def conversation_assigned(conversation, previous_assignee_id):
    conversation_event(conversation, types.CONVERSATION_ASSIGNED, previous_assignee_id=previous_assignee_id)


def contacts_updated(tenant_id, contacts):
    if contacts and hooks.subscribed(tenant_id, types.CONTACT_UPDATED):
        hooks.emit_many(tenant_id, types.CONTACT_UPDATED, [({"contact": _contact(c)}, None) for c in contacts])


def template_status_changed(template, value):
    if hooks.subscribed(template.tenant_id, types.TEMPLATE_STATUS_CHANGED):
        data = {
            "template": {
                "id": template.pk,
                "meta_id": template.meta_id,
                "name": template.name,
                "language": template.language,
                "status": template.status,
                "reason": template.reason,
            },
            "event": value.get("event", ""),
        }
        hooks.emit(template.tenant_id, types.TEMPLATE_STATUS_CHANGED, data)
