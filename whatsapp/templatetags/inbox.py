from urllib.parse import quote, urlsplit

from django import template
from django.template.loader import select_template
from django.utils.html import Urlizer
from django.utils.safestring import mark_safe

register = template.Library()


class CustomerLinks(Urlizer):
    """Django's urlize for text customers wrote: only http(s) and bare domains become links
    (never javascript:, data: or mailto:), each opening apart from the inbox with no referrer."""

    url_template = '<a href="{href}" rel="nofollow noopener noreferrer" target="_blank"{attrs}>{url}</a>'

    def is_email_simple(self, value):
        return False


customer_links = CustomerLinks()


@register.filter(is_safe=True, needs_autoescape=True)
def linkify(text, autoescape=True):
    """Escape the text and make its web addresses clickable, safely."""
    return mark_safe(customer_links(str(text), trim_url_limit=80, autoescape=autoescape))


@register.filter
def web_url(url):
    """The URL if it is http(s), else nothing: for links whose address comes from outside."""
    url = str(url or "").strip()
    return url if urlsplit(url).scheme.lower() in ("http", "https") else ""


CONTENT_TEMPLATES = frozenset(
    [
        "audio",
        "button",
        "contacts",
        "document",
        "image",
        "interactive",
        "location",
        "order",
        "sticker",
        "system",
        "template",
        "text",
        "unknown",
        "unsupported",
        "video",
    ]
)


@register.simple_tag(takes_context=True)
def message_content(context, message):
    """The message's body, drawn by the template of its type (whatsapp/content/<type>.html)."""
    # The type comes from the webhook: only a known type names a template file.
    kind = message.type if message.type in CONTENT_TEMPLATES else "_default"
    chosen = select_template([f"whatsapp/content/{kind}.html"])
    return mark_safe(chosen.render({"message": message, "body": message.body or {}}))


@register.filter
def map_link(location):
    """A link to the point on OpenStreetMap (no API key, no tracking script)."""
    try:
        latitude, longitude = float(location["latitude"]), float(location["longitude"])
    except (KeyError, TypeError, ValueError):
        return ""
    return f"https://www.openstreetmap.org/?mlat={latitude}&mlon={longitude}#map=16/{latitude}/{longitude}"


@register.filter
def tel_link(phone):
    return "tel:" + quote("".join(ch for ch in str(phone) if ch.isdigit() or ch == "+"))
