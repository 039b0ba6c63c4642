"""What agents send: a text, a file, a reaction or a template. Each action checks what
WhatsApp would refuse (the 24-hour window, sizes, a template's values), writes the queued
message and its send job in one transaction (delivery.queue_new), and publishes it. The
worker's side, from the claim to the settled status, is delivery.py."""

from django.db import transaction

from whatsapp import message_types
from whatsapp.contacts.consent import marketing_refusal
from whatsapp.conversations import actions as conversations
from whatsapp.errors import ActionError
from whatsapp.media import actions as media_actions
from whatsapp.media import rules as media
from whatsapp.models import TEMPLATE_VARIABLE, Conversation, Message
from whatsapp.realtime import events as realtime
from whatsapp.sending import delivery


def send_reply(membership, conversation, text, reply_to=None):
    """Queue an agent's text reply, quoting `reply_to` (a message of this conversation) if
    given; a worker sends it (delivery.send_message)."""
    # Browsers send a textarea's line breaks as CRLF; WhatsApp shows plain newlines.
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ActionError("Write a message first.")
    if len(text) > message_types.TEXT_MAX:
        raise ActionError(f"WhatsApp text messages are limited to {message_types.TEXT_MAX:,} characters.")
    _require_open_window(conversation)
    if reply_to is not None and (reply_to.conversation_id != conversation.pk or not reply_to.wamid):
        raise ActionError("You can quote a message of this conversation that reached WhatsApp.")
    with transaction.atomic():
        message = delivery.queue_new(
            conversation, membership.user, type="text", text=text, reply_to_wamid=reply_to.wamid if reply_to else ""
        )
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        conversations.touch_conversation(conversation, message, inbound=False)
        realtime.message_created(message)
        if conversation.tenant.read_receipts == conversation.tenant.ReadReceipts.ON_REPLY:
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
        conversations.touch_conversation(conversation, message, inbound=False)
        realtime.message_created(message)
    return message


def react(membership, conversation, target, emoji):
    """The agent reacts to a customer's message (an empty emoji removes the reaction)."""
    if emoji and emoji not in message_types.REACTION_EMOJI:
        raise ActionError("Choose one of the offered reactions.")
    if target.conversation_id != conversation.pk or target.direction != Message.Direction.IN or not target.wamid:
        raise ActionError("You can react to the customer's messages only.")
    with transaction.atomic():
        reaction = delivery.queue_new(
            conversation, membership.user, type="reaction", text=emoji, target_wamid=target.wamid
        )
        conversations.apply_followups(conversation.tenant, target.wamid)
    return reaction


def send_template(membership, conversation, template, values):
    """Queue a template message with its variables filled in. Checked against the
    template's components first: every placeholder needs a value, and only an approved
    template can be sent."""
    if template.tenant_id != membership.tenant_id:
        raise ActionError("No such template.")
    if refusal := marketing_refusal(conversation.contact, template):
        raise ActionError(refusal)
    if template.status != "APPROVED":
        raise ActionError(
            f"Template {template.name} is {template.status.lower() or 'not approved'}: it cannot be sent."
        )
    variables = template.variables
    values = [" ".join(str(value).split()) for value in values]
    if len(values) != len(variables) or any(not value for value in values):
        raise ActionError(f"Template {template.name} needs {len(variables)} value(s), none empty.")
    if any(len(value) > message_types.TEMPLATE_VALUE_MAX for value in values):
        raise ActionError(f"A template value may have at most {message_types.TEMPLATE_VALUE_MAX:,} characters.")
    filled = dict(zip(variables, values))
    with transaction.atomic():
        message = delivery.queue_new(
            conversation,
            membership.user,
            type="template",
            text=_fill(template.body_text, "BODY", filled),
            content={"template": _template_payload(template, filled)},
        )
        conversations.touch_conversation(conversation, message, inbound=False)
        realtime.message_created(message)
    return message


def _fill(text, kind, filled):
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
