from urllib.parse import quote

from django import template
from django.template.loader import select_template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def message_content(context, message):
    """The message's body, drawn by the template of its type (whatsapp/content/<type>.html)."""
    chosen = select_template([f"whatsapp/content/{message.type}.html", "whatsapp/content/_default.html"])
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
