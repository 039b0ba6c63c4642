"""Meta's message types as the inbox groups them, and a conversation's one-line preview. The
full message object is stored as it came; whatsapp/webhook/updates.py reads its text."""

# Types that change another message instead of standing in the thread themselves.
FOLLOWUP_TYPES = ("reaction", "edit", "revoke")
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
# The reactions an agent can send (WhatsApp accepts any emoji; the picker offers these).
REACTION_EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🙏"]
# WhatsApp's limits, in characters: a text message's body, and a template variable's value.
TEXT_MAX = 4096
TEMPLATE_VALUE_MAX = 1024
# A conversation's one-line preview of its last message, in characters.
PREVIEW_MAX = 200
# The words of a message or a mention in a notification, in characters.
NOTIFICATION_TEXT_MAX = 120


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
        return f"{label}: {text}"[:PREVIEW_MAX]
    return (text or label or f"[{kind}]")[:PREVIEW_MAX]
