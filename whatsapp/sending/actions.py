"""What agents send: a text, a file, a reaction, an interactive message or a template. Each action checks what
WhatsApp would refuse (the 24-hour window, sizes, a template's values), writes the queued
message and its send job in one transaction (delivery.queue_new), and publishes it. The
worker's side, from the claim to the settled status, is delivery.py."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import URLValidator
from django.db import transaction

from whatsapp import message_types
from whatsapp.cloud import api as cloud_api
from whatsapp.contacts.consent import marketing_refusal
from whatsapp.conversations import actions as conversations
from whatsapp.conversations import starting
from whatsapp.errors import ActionError, FieldError
from whatsapp.media import actions as media_actions
from whatsapp.media import rules as media
from whatsapp.models import TEMPLATE_VARIABLE, Conversation, Message, MessageTemplate
from whatsapp.realtime import events as realtime
from whatsapp.sending import delivery, template_fields


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


# Meta's limits for interactive messages (META_FACTS.md 9.1), in characters.
INTERACTIVE_BODY_MAX = 1024
LIST_BODY_MAX = 4096
HEADER_MAX = FOOTER_MAX = 60
BUTTON_TITLE_MAX = LIST_BUTTON_MAX = CTA_TEXT_MAX = 20
MAX_BUTTONS = 3
ROW_TITLE_MAX = SECTION_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
MAX_ROWS = 10
INTERACTIVE_KINDS = ("buttons", "list", "cta_url", "location", "location_request")


def send_interactive(membership, conversation, kind, fields):
    """Queue an interactive message (inside the 24-hour window only): reply `buttons`, a
    `list`, a `cta_url` button, a `location` or a `location_request`. `fields` holds what the
    agent filled in: body, header, footer; buttons (titles); list_button and sections
    ([{"title", "rows": [{"title", "description"}]}]); display_text and url; latitude,
    longitude, name and address. Raises FieldError naming the field WhatsApp would refuse."""
    builders = {
        "buttons": _reply_buttons,
        "list": _list_message,
        "cta_url": _cta_url,
        "location": _location,
        "location_request": _location_request,
    }
    if kind not in builders:
        raise FieldError(
            "kind", "Choose what to send: reply buttons, a list, a link button, a location or a location request."
        )
    message_type, text, content = builders[kind](fields)
    _require_open_window(conversation)
    with transaction.atomic():
        message = delivery.queue_new(conversation, membership.user, type=message_type, text=text, content=content)
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        conversations.touch_conversation(conversation, message, inbound=False)
        realtime.message_created(message)
    return message


def _text(fields, name, label, limit, required=True):
    value = " ".join(str(fields.get(name) or "").split()) if name != "body" else _body_text(fields.get(name))
    if required and not value:
        raise FieldError(name, f"{label}: write it first.")
    if len(value) > limit:
        raise FieldError(name, f"{label}: at most {limit:,} characters (this has {len(value):,}).")
    return value


def _body_text(value):
    return str(value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _interactive(kind, fields, body_max, action):
    interactive = {"type": kind, "body": {"text": _text(fields, "body", "Message text", body_max)}, "action": action}
    header = _text(fields, "header", "Header", HEADER_MAX, required=False)
    footer = _text(fields, "footer", "Footer", FOOTER_MAX, required=False)
    if header:
        interactive["header"] = {"type": "text", "text": header}
    if footer:
        interactive["footer"] = {"text": footer}
    return "interactive", interactive["body"]["text"], {"interactive": interactive}


def _reply_buttons(fields):
    titles = [" ".join(str(title).split()) for title in fields.get("buttons") or []]
    titles = [title for title in titles if title]
    if not titles:
        raise FieldError("buttons", "Buttons: give at least one button a title.")
    if len(titles) > MAX_BUTTONS:
        raise FieldError("buttons", f"Buttons: WhatsApp shows at most {MAX_BUTTONS} reply buttons.")
    for number, title in enumerate(titles, 1):
        if len(title) > BUTTON_TITLE_MAX:
            raise FieldError(
                "buttons", f"Button {number}: at most {BUTTON_TITLE_MAX} characters (“{title}” has {len(title)})."
            )
    if len({title.casefold() for title in titles}) < len(titles):
        raise FieldError("buttons", "Buttons: each button needs a title of its own.")
    buttons = [{"type": "reply", "reply": {"id": f"button-{n}", "title": t}} for n, t in enumerate(titles, 1)]
    return _interactive("button", fields, INTERACTIVE_BODY_MAX, {"buttons": buttons})


def _list_message(fields):
    label = _text(fields, "list_button", "List button", LIST_BUTTON_MAX)
    sections, count, titles = [], 0, set()
    for section in fields.get("sections") or []:
        rows = []
        for row in section.get("rows", []):
            count += 1
            title = " ".join(str(row.get("title", "")).split())
            description = " ".join(str(row.get("description", "")).split())
            if not title:
                raise FieldError("sections", f"Row {count}: give it a title.")
            if len(title) > ROW_TITLE_MAX:
                raise FieldError(
                    "sections",
                    f"Row {count}: a title has at most {ROW_TITLE_MAX} characters (“{title}” has {len(title)}).",
                )
            if len(description) > ROW_DESCRIPTION_MAX:
                raise FieldError(
                    "sections", f"Row {count}: a description has at most {ROW_DESCRIPTION_MAX} characters."
                )
            if title.casefold() in titles:
                raise FieldError(
                    "sections", f"Row {count}: “{title}” is already a row: each row needs a title of its own."
                )
            titles.add(title.casefold())
            rows.append({"id": f"row-{count}", "title": title, **({"description": description} if description else {})})
        section_title = " ".join(str(section.get("title", "")).split()) or label
        if len(section_title) > SECTION_TITLE_MAX:
            raise FieldError(
                "sections", f"Section “{section_title}”: a title has at most {SECTION_TITLE_MAX} characters."
            )
        if rows:
            sections.append({"title": section_title, "rows": rows})
    if not count:
        raise FieldError("sections", "Rows: write at least one row to choose from.")
    if count > MAX_ROWS:
        raise FieldError("sections", f"Rows: WhatsApp lists at most {MAX_ROWS} rows in all (this has {count}).")
    return _interactive("list", fields, LIST_BODY_MAX, {"button": label, "sections": sections})


def _cta_url(fields):
    display_text = _text(fields, "display_text", "Button text", CTA_TEXT_MAX)
    url = str(fields.get("url") or "").strip()
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise FieldError("url", "Link: a web address that starts with https://, such as https://example.com/order.")
    action = {"name": "cta_url", "parameters": {"display_text": display_text, "url": url}}
    return _interactive("cta_url", fields, INTERACTIVE_BODY_MAX, action)


def _coordinate(fields, name, label, limit):
    try:
        value = float(str(fields.get(name) or "").strip().replace(",", "."))
    except ValueError:
        raise FieldError(name, f"{label}: a number of degrees, such as {limit / 2:g}.")
    if not -limit <= value <= limit:
        raise FieldError(name, f"{label}: between -{limit} and {limit} degrees.")
    return value


def _location(fields):
    place = {
        "latitude": _coordinate(fields, "latitude", "Latitude", 90),
        "longitude": _coordinate(fields, "longitude", "Longitude", 180),
    }
    name = _text(fields, "name", "Place name", 1000, required=False)
    address = _text(fields, "address", "Address", 1000, required=False)
    place.update({key: value for key, value in (("name", name), ("address", address)) if value})
    return "location", name or address or "Location", {"location": place}


def _location_request(fields):
    text = _text(fields, "body", "Message text", INTERACTIVE_BODY_MAX)
    interactive = {"type": "location_request_message", "body": {"text": text}, "action": {"name": "send_location"}}
    return "interactive", text, {"interactive": interactive}


def send_template(membership, conversation, template, values, *, header_file=None, header_media=None, header_link=""):
    """Queue a template message with its values filled in; the window does not matter.
    `values` maps the template's fields (template_fields.shape_of) to their values; a list
    fills its text parameters in order. A media header comes from `header_file` (an upload),
    `header_media` (a file already in the workspace, a MediaFile) or `header_link` (https);
    the sender uploads a file to Meta and sends its media id. Only an approved template of
    the workspace is sent, and every error names its field."""
    if template.tenant_id != conversation.tenant_id:
        raise ActionError("No such template.")
    if refusal := marketing_refusal(conversation.contact, template):
        raise ActionError(refusal)
    if template.status != "APPROVED":
        raise ActionError(
            f"Template {template.name} is {template.status.lower() or 'not approved'}: it cannot be sent."
        )
    shape = template_fields.shape_of(template)
    if isinstance(values, (list, tuple)):
        texts = [spec for spec in shape.fields if spec.kind in ("text", "otp")]
        values = {spec.key: value for spec, value in zip(texts, values)}
    source = _header_source(conversation, shape.header_format.lower(), header_file, header_media, header_link)
    try:
        filled = template_fields.fill(template, values, header_media=source.parameter if source else None)
        with transaction.atomic():
            message = delivery.queue_new(
                conversation,
                membership.user,
                type="template",
                text=filled.body_text,
                content={
                    "template": filled.payload,
                    "header_text": filled.header_text,
                    "footer_text": shape.footer_text,
                },
            )
            if source and source.upload is not None:
                media_actions.keep_outbound_file(message, source.upload, source.checked)
            conversations.touch_conversation(conversation, message, inbound=False)
            realtime.message_created(message)
    finally:
        if source and source.opened:
            source.upload.close()
    return message


@dataclass
class _HeaderSource:
    parameter: dict  # {"link": …}, or {} until the sender sets the uploaded file's id
    upload: object = None
    checked: object = None
    opened: bool = False  # a workspace file opened here, to close after copying it


def _header_source(conversation, kind, header_file, header_media, header_link):
    """Where a media header's file comes from, checked against Meta's rules for `kind`."""
    if kind not in ("image", "video", "document"):
        return None
    if header_file is not None:
        try:
            checked = media.check_outbound_file(header_file)
        except media.FileRefused as error:
            raise ActionError(f"The header {kind}: {error}")
        upload = header_file
    elif header_media is not None:
        if header_media.tenant_id != conversation.tenant_id or not header_media.file:
            raise ActionError(f"The header {kind} chosen is not a file of this workspace.")
        upload = File(header_media.file.open("rb"), name=header_media.filename or header_media.file.name)
        upload.content_type = header_media.mime_type
        try:
            checked = media.check_outbound_file(upload)
        except media.FileRefused as error:
            upload.close()
            raise ActionError(f"The header {kind}: {error}")
    elif header_link:
        if not _is_https(header_link):
            raise ActionError(f"The header {kind} link must be an https:// address.")
        return _HeaderSource({"link": header_link.strip()})
    else:
        return None
    if checked.kind != kind:
        if header_media is not None and header_file is None:
            upload.close()
        raise ActionError(f"The header needs {_a(kind)}; {checked.filename} is {_a(checked.kind)}.")
    opened = header_file is None
    if kind == "document":
        return _HeaderSource({"filename": checked.filename}, upload, checked, opened)
    return _HeaderSource({}, upload, checked, opened)


def _a(kind):
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _is_https(link):
    parts = urlsplit(link.strip())
    return parts.scheme == "https" and bool(parts.netloc) and " " not in link.strip()


def start_with_template(membership, *, phone_number, to, template, values, **header):
    """A new conversation's first message: find or start the conversation with the number
    `to` (conversations/starting.py) and send it the template, in one transaction, so a
    template refused leaves nothing behind. When the customer wrote in the last 24 hours
    nothing is sent: returns (conversation, None), and the agent writes in the thread."""
    with transaction.atomic():
        conversation = starting.start_conversation(
            membership.user, tenant=membership.tenant, phone_number=phone_number, to=to
        )
        if conversation.window_is_open:
            return conversation, None
        return conversation, send_template(membership, conversation, template, values, **header)


# The types a message may be sent as in Meta's own shape (the REST API), and what each shows.
AS_GIVEN_TYPES = (
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "template",
    "interactive",
    "location",
    "contacts",
    "reaction",
)


def send_as_given(membership, conversation, kind, payload, reply_to_wamid=""):
    """Queue a message whose type's object is Meta's own (`payload`, as a Cloud API
    `/messages` body holds it under `kind`): media by id or link, a template with all its
    components, interactive, location, contacts, reactions. The worker sends it as given.
    Only a template may open a conversation whose 24-hour window is closed."""
    if kind not in AS_GIVEN_TYPES:
        raise ActionError(f"Messages of type {kind} cannot be sent.")
    if kind != "template":
        _require_open_window(conversation)
    else:
        _refuse_marketing_without_consent(conversation, _given_template(conversation.tenant, payload))
    text = _template_text(conversation.tenant, payload) if kind == "template" else _shown_text(kind, payload)
    fields = {"type": kind, "text": text, "content": {kind: payload, cloud_api.AS_GIVEN: True}}
    if kind == "reaction":
        fields["target_wamid"] = str(payload.get("message_id", ""))
    else:
        fields["reply_to_wamid"] = reply_to_wamid
    with transaction.atomic():
        message = delivery.queue_new(conversation, membership.user, **fields)
        if kind == "reaction":
            conversations.apply_followups(conversation.tenant, message.target_wamid)
        else:
            conversations.touch_conversation(conversation, message, inbound=False)
            realtime.message_created(message)
    return message


def _template_text(tenant, payload):
    """A template given in Meta's shape, as the customer reads it when the inbox has synced
    the template: its body with the body parameters filled in; else its name."""
    template = _given_template(tenant, payload)
    if template is None or not template.body_text:
        return f"Template {payload.get('name', '')}"
    filled = {}
    for component in payload.get("components") or []:
        if not isinstance(component, dict) or str(component.get("type", "")).upper() != "BODY":
            continue
        for position, parameter in enumerate(component.get("parameters") or [], start=1):
            if isinstance(parameter, dict) and parameter.get("type") == "text":
                name = str(parameter.get("parameter_name") or position)
                filled[("BODY", name)] = str(parameter.get("text", ""))
    return _fill(template.body_text, "BODY", filled)


def _given_template(tenant, payload):
    """The synced template a template in Meta's shape names, or None."""
    language = (payload.get("language") or {}).get("code", "")
    return MessageTemplate.objects.filter(tenant=tenant, name=payload.get("name", ""), language=language).first()


def _refuse_marketing_without_consent(conversation, template):
    """A marketing template to a customer who stopped marketing messages is refused. A template
    the inbox has not synced has no known category: Meta judges it, and its 131050 records the
    opt-out (delivery.py)."""
    if template is not None and (refusal := marketing_refusal(conversation.contact, template)):
        raise ActionError(refusal)


def _fill(text, kind, filled):
    return TEMPLATE_VARIABLE.sub(lambda match: filled.get((kind, match.group(1)), match.group(0)), text)


def _shown_text(kind, payload):
    """What the inbox shows of a message given in Meta's shape."""
    if kind == "text":
        return str(payload.get("body", ""))
    if kind == "reaction":
        return str(payload.get("emoji", ""))
    if kind == "template":
        return f"Template {payload.get('name', '')}"
    if kind == "interactive":
        return str((payload.get("body") or {}).get("text", ""))
    if kind == "location":
        return str(payload.get("name") or payload.get("address") or "")
    return str(payload.get("caption", "")) if isinstance(payload, dict) else ""
