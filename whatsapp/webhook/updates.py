"""What the worker reads of each webhook item: PyWA's typed update of it, parsed once.

`Parser.parse` hands one single-item envelope to PyWA's own dispatch, with a handler for every
kind of update PyWA has, and returns the typed update PyWA makes of it (Message,
MessageStatus, CallbackButton, CallbackSelection, EditedMessage, DeletedMessage, FlowCompletion,
PhoneNumberChange, …, and for the other fields TemplateStatusUpdate, AccountUpdate,
UserMarketingPreferences, …), or None. `inbound_message` and `reported_status` read what the
domain needs from a message's or a status's update; account_updates.py reads the others.

PyWA 4.5 reads Meta's payloads as they are since the business-scoped user id rollout (and
Graph API v16). Older payloads, and the simulator's, carry the same facts in another shape;
`for_pywa` gives PyWA a copy in its shape. A message PyWA has no type for is kept as Meta sent
it and stored as "unsupported". Whatever PyWA makes of an item, the message object stored as a
message's content is Meta's, as it came: the thread's templates read it.
"""

import json
import logging
import threading
from datetime import UTC, datetime

from django.utils import timezone
from pywa import WhatsApp
from pywa import handlers as pywa_handlers
from pywa.types import (
    CallbackButton,
    CallbackSelection,
    CallPermissionUpdate,
    DeletedMessage,
    EditedMessage,
    FlowCompletion,
    IdentityChange,
    Message,
    MessageStatus,
    MessageType,
    PhoneNumberChange,
)
from pywa.types.groups import GroupMessageStatuses
from pywa.types.message_status import MessageStatusType, PricingCategory

from whatsapp.conversations.receiving import InboundMessage
from whatsapp.sending.delivery import ReportedStatus

logger = logging.getLogger(__name__)

UNSUPPORTED_TEXT = "A message this inbox cannot show"


class Parser:
    """PyWA's dispatch with a handler for every kind of update it has: parse() returns what
    PyWA makes of one single-item envelope."""

    def __init__(self):
        self.wa = WhatsApp(token="unused", filter_updates=False, skip_duplicate_updates=False, validate_updates=False)
        self.wa.add_handlers(*(handler(self._parsed) for handler in _update_handlers()))
        self.parsed = None

    def _parsed(self, _client, update):
        self.parsed = update

    def parse(self, kind, envelope):
        """PyWA's typed update of the envelope's one item of `kind`, or None when PyWA makes
        none (it has no type for it, or cannot read it). PyWA takes a webhook's bytes.

        A message's status (the bulk of a busy number's webhooks) goes straight to the type
        PyWA's dispatch would choose for it (pywa/server.py, `_handle_messages_field`: a
        group's statuses or one status), whose from_update reads and checks it as the dispatch
        would: the dispatch around it (the body encoded and decoded again, its hash, a logger
        bound, every handler asked) cost a third of processing a status (bench/)."""
        self.parsed = None
        shaped = for_pywa(kind, envelope)
        if kind == "statuses" and shaped["entry"][0]["changes"][0].get("field") == "messages":
            return self._status(shaped)
        self.wa.webhook_update_handler(json.dumps(shaped).encode())
        return self.parsed

    def _status(self, shaped):
        try:
            status = shaped["entry"][0]["changes"][0]["value"]["statuses"][0]
            update_type = GroupMessageStatuses if status.get("recipient_type") == "group" else MessageStatus
            return update_type.from_update(client=self.wa, update=shaped)
        except Exception:
            logger.warning("PyWA could not read a status update", exc_info=True)
            return None

    @classmethod
    def for_this_thread(cls):
        """One parser per thread, kept: building PyWA's client loads the system's CA store
        for its httpx client, ~55 ms, which was a third of processing an event (bench/)."""
        parser = getattr(_parsers, "parser", None)
        if parser is None:
            parser = _parsers.parser = cls()
        return parser


_parsers = threading.local()


def _update_handlers():
    """Every handler class PyWA has for a typed update (all but the raw one)."""

    def subclasses(cls):
        for subclass in cls.__subclasses__():
            yield subclass
            yield from subclasses(subclass)

    return [
        handler
        for handler in subclasses(pywa_handlers.Handler)
        if not handler.__name__.startswith("_") and handler is not pywa_handlers.RawUpdateHandler
    ]


def for_pywa(kind, envelope):
    """A copy of a single-item envelope in the shape PyWA 4.5 reads (the envelope itself is
    left as it is):
    - every contacts[] entry has a `user_id`: None where Meta sent none (before the rollout);
    - an item that names its customer only itself (a status before the rollout, a system
      message, a marketing preference without contacts[]) gets the contacts[] entry the
      rollout's payloads carry, from the item's ids;
    - an error with a `title` and no `message` (before Graph API v16) gets the title as its
      message, as Meta sends both since."""
    change = envelope["entry"][0]["changes"][0]
    value = dict(change["value"])
    item = value.get(kind)[0] if kind in ITEM_LISTS and value.get(kind) else None
    if isinstance(item, dict):
        contacts = [contact for contact in value.get("contacts") or [] if isinstance(contact, dict)]
        contacts = contacts or [_contact_named_by(item)]
        value["contacts"] = [{"user_id": None, **contact} for contact in contacts]
        value[kind] = [{**item, "errors": _with_messages(item["errors"])} if "errors" in item else item]
    if "errors" in value:
        value["errors"] = _with_messages(value["errors"])
    entry = {**envelope["entry"][0], "changes": [{**change, "value": value}]}
    return {**envelope, "entry": [entry]}


# The kinds whose single-item envelope names its customer in the item and in contacts[].
ITEM_LISTS = ("messages", "statuses", "user_preferences")


def _contact_named_by(item):
    return {
        "wa_id": item.get("from") or item.get("recipient_id") or item.get("wa_id") or "",
        "user_id": item.get("from_user_id") or item.get("recipient_user_id") or item.get("user_id") or None,
    }


def _with_messages(errors):
    if not isinstance(errors, list):
        return errors
    return [
        {**error, "message": error.get("title") or ""} if isinstance(error, dict) and "message" not in error else error
        for error in errors
    ]


# --- Messages -------------------------------------------------------------------------------


def inbound_message(update, message):
    """The customer's message the domain stores, read from PyWA's typed update of it (None
    when PyWA made none); `message` is Meta's object, kept as the message's content."""
    if not isinstance(update, (Message, *MESSAGE_LIKE)):
        return _unsupported_message(message)
    kind, text, target = _what_it_says(update, message)
    reply_to = getattr(update, "reply_to_message", None)
    return InboundMessage(
        wamid=update.id,
        wa_id=update.from_user.wa_id or "",
        user_id=update.from_user.bsuid or "",
        profile_name=update.from_user.name or "",
        timestamp=update.timestamp,
        type=kind,
        text=text or "",
        content=message,
        reply_to_wamid=reply_to.id if reply_to else "",
        target_wamid=target or "",
        new_wa_id=(update.new_wa_id if isinstance(update, PhoneNumberChange) else None) or "",
    )


# The typed updates of a customer's message that are not a plain Message.
MESSAGE_LIKE = (
    EditedMessage,
    DeletedMessage,
    CallbackButton,
    CallbackSelection,
    FlowCompletion,
    CallPermissionUpdate,
    PhoneNumberChange,
    IdentityChange,
)


def _what_it_says(update, message):
    """(the message's type as stored, its one line of text, the wamid it changes)."""
    match update:
        case EditedMessage():
            return "edit", _text(update.message, message["edit"]["message"]), update.original_message_id
        case DeletedMessage():
            return "revoke", "", update.original_message_id
        case CallbackButton() | CallbackSelection():
            return str(update.type), update.title, ""
        case FlowCompletion() | PhoneNumberChange() | IdentityChange():
            return str(update.type), update.body, ""
        case CallPermissionUpdate():
            return str(update.type), "", ""
        case Message() if _pywa_has_a_type_for(update, message):
            return str(update.type), _text(update, message), update.reaction.message_id if update.reaction else ""
    return "unsupported", _error_text(update.error, message) or UNSUPPORTED_TEXT, ""


def _pywa_has_a_type_for(update, message):
    """PyWA falls back to a plain Message, with no content read, for a message type it does
    not know (UNKNOWN, unless Meta's own legacy "unknown") and for interactive and system
    messages of a kind it does not know."""
    if update.type == MessageType.UNKNOWN:
        return message.get("type") == "unknown"
    return update.type not in (MessageType.INTERACTIVE, MessageType.SYSTEM)


def _text(message, item):
    """A message's one line of text for previews, search and the thread; `item` is Meta's."""
    match message.type:
        case MessageType.TEXT:
            return message.text
        case MessageType.IMAGE | MessageType.VIDEO:
            return message.caption
        case MessageType.DOCUMENT:
            return message.caption or message.document.filename
        case MessageType.LOCATION:
            place = message.location
            return ", ".join(part for part in (place.name, place.address) if part) or "Shared a location"
        case MessageType.CONTACTS:
            return "Shared " + ", ".join((card.name.formatted_name or "a contact") for card in message.contacts)
        case MessageType.ORDER:
            count = sum(int(product.quantity or 0) for product in message.order.products)
            return message.order.text or f"Order of {count} item{'s' if count != 1 else ''}"
        case MessageType.REACTION:
            return message.reaction.emoji
        case MessageType.UNSUPPORTED | MessageType.UNKNOWN:
            return _error_text(message.error, item)
    return ""


def _error_text(error, item):
    """Meta's reason a message could not be delivered. PyWA's error reads the details only
    from `error_data`; Meta also puts them at the top of the error, read from the item."""
    if error is None:
        return ""
    raw = (item.get("errors") or [{}])[0] if isinstance(item.get("errors"), list) else {}
    return error.details or (raw.get("details") if isinstance(raw, dict) else "") or error.message or ""


def _unsupported_message(message):
    """A message PyWA made nothing of, kept as it came. Its id, sender and time are read from
    Meta's object: there is no typed update to read them from."""
    if not isinstance(message, dict) or not isinstance(message.get("id"), str):
        raise ValueError("A message without an id.")
    return InboundMessage(
        wamid=message["id"],
        wa_id=str(message.get("from") or ""),
        user_id=str(message.get("from_user_id") or ""),
        profile_name="",
        timestamp=_meta_time(message.get("timestamp")),
        type="unsupported",
        text=UNSUPPORTED_TEXT,
        content=message,
    )


def _meta_time(value):
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


# --- Statuses -------------------------------------------------------------------------------


def reported_status(update, status):
    """The status the domain records, read from PyWA's typed update; `status` is Meta's item.
    A status in a group (this inbox sends to none) is read the same way."""
    if isinstance(update, GroupMessageStatuses):
        update = update.statuses[0]
    if not isinstance(update, MessageStatus):
        raise ValueError(f"PyWA could not read status {status.get('id', '?') if isinstance(status, dict) else '?'}.")
    error, pricing = update.error, update.pricing
    return ReportedStatus(
        wamid=update.id,
        # PyWA names values it does not know UNKNOWN (older pages list "deleted" and "warning"):
        # those, Meta's own word, and the pricing category likewise, are read from the item.
        status=status["status"] if update.status == MessageStatusType.UNKNOWN else str(update.status),
        timestamp=update.timestamp,
        recipient=update.from_user.wa_id or update.from_user.bsuid or "",
        error_code=error.code if error else None,
        error_title=error.message if error else "",
        error_detail=_error_text(error, status),
        pricing_category=_pricing_category(pricing, status),
        tracker=update.tracker or "",
    )


def _pricing_category(pricing, status):
    if pricing is None:
        return ""
    if pricing.category == PricingCategory.UNKNOWN:
        return str((status.get("pricing") or {}).get("category") or "")
    return str(pricing.category)
