"""Webhook fields other than messages: templates, numbers, the account, customers'
marketing preferences. Each is applied where the project has the object, and always
described in a note the logs page shows."""

from whatsapp import hook_events
from whatsapp.models import Contact, MessageTemplate, PhoneNumber


def apply(tenant, field, value, entry_time=None):
    """Apply one change of a non-message field. Returns a note for the event's log."""
    handler = _HANDLERS.get(field)
    if handler is None:
        return f"{field}: stored; this inbox does not act on it."
    return handler(tenant, value)


def _template(tenant, value, **changes):
    meta_id = str(value.get("message_template_id") or "")
    if not meta_id:
        return None
    defaults = {
        "name": value.get("message_template_name") or "",
        "language": value.get("message_template_language") or "",
    }
    defaults = {key: val for key, val in defaults.items() if val}
    template, _ = MessageTemplate.objects.update_or_create(
        tenant=tenant, meta_id=meta_id, defaults={**defaults, **changes}
    )
    return template


def _template_status(tenant, value):
    from whatsapp.team.actions import sync_templates_job

    event = value.get("event", "")
    template = _template(tenant, value, status=event, reason=value.get("reason") or "")
    if template:
        hook_events.template_status_changed(template, value)
    sync_templates_job.enqueue(tenant.pk)  # the components may have changed too
    name = template.name if template else value.get("message_template_name", "?")
    return f"Template {name} is now {event}" + (f" ({value['reason']})" if value.get("reason") else "")


def _template_category(tenant, value):
    category = value.get("new_category", "")
    template = _template(tenant, value, category=category)
    name = template.name if template else value.get("message_template_name", "?")
    return f"Template {name} moved from {value.get('previous_category', '?')} to {category}"


def _template_quality(tenant, value):
    score = value.get("new_quality_score", "")
    template = _template(tenant, value, quality_score=score)
    name = template.name if template else value.get("message_template_name", "?")
    return f"Template {name} quality: {value.get('previous_quality_score', '?')} → {score}"


def _template_components(tenant, value):
    template = _template(tenant, value)
    name = template.name if template else value.get("message_template_name", "?")
    return f"Template {name} components changed"


def _phone_number_quality(tenant, value):
    display = str(value.get("display_phone_number") or "")
    limit = value.get("current_limit") or value.get("messaging_limit_tier") or ""
    changes = {"messaging_limit": limit} if limit else {}
    if value.get("event") in ("FLAGGED", "UNFLAGGED", "DOWNGRADE", "UPGRADE"):
        changes["quality_rating"] = value["event"]
    updated = (
        PhoneNumber.objects.filter(tenant=tenant, display_phone_number=display).update(**changes) if changes else 0
    )
    return (
        f"Number {display}: {value.get('event', 'quality update')}"
        + (f", limit {limit}" if limit else "")
        + ("" if updated else " (not one of this tenant's numbers)")
    )


def _phone_number_name(tenant, value):
    display = str(value.get("display_phone_number") or "")
    decision = value.get("decision", "")
    if decision == "APPROVED" and value.get("requested_verified_name"):
        PhoneNumber.objects.filter(tenant=tenant, display_phone_number=display).update(
            verified_name=value["requested_verified_name"]
        )
    return f"Number {display}: display name {value.get('requested_verified_name', '')} {decision}".strip()


def _account_update(tenant, value):
    details = value.get("violation_info") or value.get("ban_info") or value.get("lock_info") or ""
    return f"Account update: {value.get('event', 'unknown event')}" + (f" {details}" if details else "")


def _user_preferences(tenant, value):
    notes = []
    for preference in value.get("user_preferences") or []:
        wa_id = preference.get("wa_id") or ""
        user_id = preference.get("user_id") or ""
        stopped = preference.get("value") == "stop"
        contacts = Contact.objects.filter(tenant=tenant)
        contacts = contacts.filter(wa_id=wa_id) if wa_id else contacts.filter(user_id=user_id)
        contacts.update(marketing_opted_out=stopped)
        notes.append(f"{wa_id or user_id} {'stopped' if stopped else 'resumed'} {preference.get('category', '')}")
    return "Marketing preferences: " + "; ".join(notes)


_HANDLERS = {
    "message_template_status_update": _template_status,
    "template_category_update": _template_category,
    "message_template_quality_update": _template_quality,
    "message_template_components_update": _template_components,
    "phone_number_quality_update": _phone_number_quality,
    "phone_number_name_update": _phone_number_name,
    "account_update": _account_update,
    "user_preferences": _user_preferences,
}
