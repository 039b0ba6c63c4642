"""What each of Meta's message types says, in one line of text, for previews, search and
the thread. The full message object is stored as it came; this only reads it."""

# Types that change another message instead of standing in the thread themselves.
FOLLOWUP_TYPES = ("reaction", "edit", "revoke")
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
# The longest text message WhatsApp takes (and the longest note, so either fits the other).
TEXT_LIMIT = 4096
# The reactions an agent can send (WhatsApp accepts any emoji; the picker offers these).
REACTION_EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🙏"]


def text_of(message):
    """The readable text of a message object from a webhook (or of an edit's new message)."""
    kind = message.get("type") or "unknown"
    body = message.get(kind)
    reader = _READERS.get(kind)
    if reader is not None:
        try:
            return reader(body if body is not None else {}, message) or ""
        except (AttributeError, TypeError, KeyError, IndexError):
            return ""
    return ""


def target_of(message):
    """The wamid a reaction, edit or deletion applies to."""
    kind = message.get("type")
    body = message.get(kind) or {}
    if kind == "reaction":
        return body.get("message_id", "")
    if kind in ("edit", "revoke"):
        return body.get("original_message_id", "")
    return ""


def _media(body, message):
    return body.get("caption") or (body.get("filename") if message.get("type") == "document" else "")


def _location(body, message):
    return ", ".join(part for part in (body.get("name"), body.get("address")) if part) or "Shared a location"


def _contacts(body, message):
    names = [((card.get("name") or {}).get("formatted_name") or "a contact") for card in body]
    return "Shared " + ", ".join(names)


def _interactive(body, message):
    reply = body.get(body.get("type") or "") or {}
    return reply.get("title") or reply.get("body") or ""


def _order(body, message):
    items = body.get("product_items") or []
    count = sum(int(item.get("quantity") or 0) for item in items)
    return body.get("text") or f"Order of {count} item{'s' if count != 1 else ''}"


def _unsupported(body, message):
    error = (message.get("errors") or [{}])[0]
    details = (error.get("error_data") or {}).get("details") or error.get("details") or error.get("title")
    return details or "A message WhatsApp does not support"


def _edit(body, message):
    return text_of(body.get("message") or {})


_READERS = {
    "text": lambda body, message: body.get("body"),
    "image": _media,
    "video": _media,
    "document": _media,
    "audio": lambda body, message: "",
    "sticker": lambda body, message: "",
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": lambda body, message: body.get("text"),
    "reaction": lambda body, message: body.get("emoji"),
    "order": _order,
    "system": lambda body, message: body.get("body"),
    "unsupported": _unsupported,
    "unknown": _unsupported,
    "edit": _edit,
    "revoke": lambda body, message: "",
}


def preview_of(kind, text):
    """A conversation's one-line preview of its last message."""
    labels = {
        "image": "📷 Photo",
        "video": "🎥 Video",
        "audio": "🎤 Audio",
        "document": "📄 Document",
        "sticker": "Sticker",
        "location": "📍 Location",
        "order": "🛒 Order",
    }
    label = labels.get(kind)
    text = " ".join((text or "").split())
    if label and text:
        return f"{label}: {text}"[:200]
    return (text or label or f"[{kind}]")[:200]
