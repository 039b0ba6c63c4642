"""Messages: send one (Meta's `/messages` body), read one back with its statuses."""

from django.http import Http404
from ninja import Router

from whatsapp.conversations import starting
from whatsapp.models import MediaFile, Message, PhoneNumber, StatusUpdate
from whatsapp.sending import actions as sending

from . import auth
from .common import PathId, answer
from .idempotency import idempotent
from .models import Scope
from .problems import Problem
from .schemas import MessageOut, SendMessage
from .schemas import Problem as ProblemSchema

router = Router(tags=["messages"])
ERRORS = dict.fromkeys((400, 401, 403, 404, 409, 413, 422, 429), ProblemSchema)


@router.post("/messages", response={201: MessageOut, **ERRORS}, summary="Send a message", operation_id="send_message")
@idempotent
def send_message(request, body: SendMessage):
    """Queue a message; it is sent once, in order, by a worker. Answers with its `id` and
    `status` (`queued`): follow it with `GET /messages/{id}`. Without `conversation_id`, a
    number the inbox does not know yet starts a conversation: only a template may, unless the
    customer wrote in the last 24 hours."""
    auth.require(request, Scope.SEND)
    actor = auth.actor(request)
    conversation = _conversation(actor, body)
    if body.type == "text" and not body.text.preview_url:
        reply_to = _quoted(conversation, body.context)
        message = sending.send_reply(actor, conversation, body.text.body, reply_to=reply_to)
    else:
        reply_to_wamid = body.context.message_id if body.context else ""
        message = sending.send_as_given(actor, conversation, body.type, body.payload(), reply_to_wamid)
    return answer(MessageOut, message_out(message), status=201)


@router.get(
    "/messages/{int:message_id}",
    response={200: MessageOut, **ERRORS},
    summary="Read a message",
    operation_id="read_message",
)
def read_message(request, message_id: PathId):
    auth.require(request, Scope.READ)
    message = Message.objects.filter(pk=message_id, tenant=request.auth.tenant).first()
    if message is None:
        raise Http404("No such message.")
    return message_out(message, with_statuses=True)


def _conversation(actor, body):
    from whatsapp.access import access_conversation

    if body.conversation_id is not None:
        return access_conversation(actor, body.conversation_id)
    number = _sending_number(actor.tenant, body.from_)
    return starting.start_conversation(actor, tenant=actor.tenant, phone_number=number, to=_international(body.to))


def _international(to):
    """Meta's `to` is the number with its country code, usually digits without '+': read
    digits alone as international, never as a national number of the default country."""
    digits = to.strip()
    if digits.isascii() and digits.isdigit() and not digits.startswith("00"):
        return "+" + digits
    return to


def _sending_number(tenant, sender):
    numbers = list(PhoneNumber.objects.filter(tenant=tenant))
    if sender:
        digits = "".join(character for character in sender if character.isdigit())
        for number in numbers:
            if sender == number.phone_number_id or digits == number.display_phone_number.lstrip("+"):
                return number
        raise Problem("validation-error", f"from: {sender!r} is not a number of this workspace.")
    if len(numbers) != 1:
        raise Problem("validation-error", "from: this workspace has several numbers (or none); name one.")
    return numbers[0]


def _quoted(conversation, context):
    if context is None:
        return None
    quoted = Message.objects.filter(conversation=conversation, wamid=context.message_id).first()
    if quoted is None:
        raise Problem("validation-error", "context.message_id: no message of this conversation has that id.")
    return quoted


def message_out(message, with_statuses=False):
    content = {key: value for key, value in message.content.items() if key != "as_given"}
    out = {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "type": message.type,
        "status": message.status,
        "wamid": message.wamid,
        "text": message.text,
        "content": content,
        "timestamp": message.timestamp,
        "created_at": message.created_at,
    }
    if message.error_code is not None or message.error_title:
        out["error"] = {"code": message.error_code, "title": message.error_title, "detail": message.error_detail}
    if with_statuses:
        media_file = MediaFile.objects.filter(message_id=message.pk).values_list("pk", flat=True).first()
        if media_file:
            out["media_file_id"] = media_file
        updates = StatusUpdate.objects.filter(tenant_id=message.tenant_id, wamid=message.wamid) if message.wamid else []
        out["statuses"] = [
            {
                "status": update.status,
                "timestamp": update.timestamp,
                "error_code": update.error_code,
                "error_title": update.error_title,
            }
            for update in sorted(updates, key=lambda update: (update.timestamp, update.pk))
        ]
    return out
