"""Filters for the dashboard's figures."""

from django import template

register = template.Library()


@register.filter
def duration(value):
    """A timedelta in words a person reads at a glance: 45 s, 3 min 20 s, 2 h 5 min, 3 d 4 h."""
    if value is None:
        return "—"
    seconds = round(value.total_seconds())
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 600:
        return f"{minutes} min {seconds % 60} s" if seconds % 60 else f"{minutes} min"
    if seconds < 3600:
        return f"{minutes} min"
    if seconds < 86400:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{days} d {hours % 24} h" if hours % 24 else f"{days} d"


@register.filter
def percent_of(part, whole):
    """part as a whole percentage of whole; 0 when there is no whole."""
    return round(100 * part / whole) if whole else 0
