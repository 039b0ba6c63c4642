"""Webhook fields other than messages: templates, numbers, the account, customers'
marketing preferences. Each is applied where the project has the object, and always
described in a note the logs page shows.

A field PyWA has a type for is read from PyWA's typed update of it (parsed once, by
updates.Parser); the phone-number fields, which PyWA 4.5 has no type for, are read from
Meta's value as it came. A field this inbox does not act on is stored as Meta sent it and
noted as unsupported: not a failure.
"""

from pywa.types import (
    AccountUpdate,
    TemplateCategoryUpdate,
    TemplateComponentsUpdate,
    TemplateQualityUpdate,
    TemplateStatusUpdate,
    UserMarketingPreferences,
)
from pywa.types.templates import TemplateRejectionReason
from pywa.types.user_preferences import MarketingPreference, UserPreferenceCategory

from whatsapp import hook_events
from whatsapp.contacts import actions as contact_actions
from whatsapp.models import MessageTemplate, PhoneNumber
from whatsapp.realtime import events as realtime


def reads_typed(field, value):
    """Whether this change is read from PyWA's typed update (so the worker has PyWA parse it)."""
    if field == "user_preferences":
        return _preference_category(value) == UserPreferenceCategory.MARKETING_MESSAGES.value
    return field in _TYPED


def apply(tenant, field, value, update=None):
    """Apply one change of a non-message field. `value` is Meta's; `update` is PyWA's typed
    update of it, for the fields reads_typed() names. Returns a note for the event's log;
    raises ValueError when PyWA could not read a field it has a type for."""
    if reads_typed(field, value):
        update_type, handler = _TYPED[field]
        if not isinstance(update, update_type):
            raise ValueError(f"PyWA could not read this {field} change.")
        return handler(tenant, update, value)
    if field in _RAW:
        return _RAW[field](tenant, value)
    return unsupported_note(field, value)


def unsupported_note(field, value):
    kind = f" ({_preference_category(value)})" if field == "user_preferences" else ""
    return f"{field}{kind}: unsupported by this inbox; stored as Meta sent it."


def _preference_category(value):
    """The category of a user_preferences change (PyWA has a type for marketing_messages)."""
    preferences = value.get("user_preferences")
    first = preferences[0] if isinstance(preferences, list) and preferences else {}
    return str(first.get("category") or "").lower() if isinstance(first, dict) else ""


def meta_word(member, raw):
    """PyWA names a value it does not know UNKNOWN (a new event, category, language …):
    then Meta's own word is read from the raw value beside the typed update."""
    if member is None:
        return ""
    return str(raw or "") if member == member.UNKNOWN else str(member)


# --- Fields PyWA reads --------------------------------------------------------------------


def _template(tenant, update, value, **changes):
    defaults = {
        "name": update.template_name,
        "language": meta_word(update.template_language, value.get("message_template_language")),
    }
    template, _ = MessageTemplate.objects.update_or_create(
        tenant=tenant, meta_id=update.template_id, defaults={**defaults, **changes}
    )
    return template


def _template_status(tenant, update, value):
    from whatsapp.team.actions import sync_templates_job

    status = meta_word(update.new_status, value.get("event"))
    reason = _rejection(update, value)
    changes = {"status": status, "reason": reason}
    if update.category:
        changes["category"] = meta_word(update.category, value.get("message_template_category"))
    template = _template(tenant, update, value, **changes)
    if template:
        hook_events.template_status_changed(template, value)
    sync_templates_job.enqueue(tenant.pk)  # the components may have changed too
    realtime.template_changed(template)
    return f"Template {update.template_name} is now {status}" + (f" ({reason})" if reason else "")


def _rejection(update, value):
    """Why Meta rejected, paused or locked a template, in its words ("" when it says NONE)."""
    reason = "" if update.reason == TemplateRejectionReason.NONE else meta_word(update.reason, value.get("reason"))
    detail = update.rejection_info.reason if update.rejection_info else ""
    if update.other_info:
        detail = ": ".join(part for part in (update.other_info.title, update.other_info.description) if part)
    return " — ".join(part for part in (reason, detail) if part)


def _template_category(tenant, update, value):
    category = meta_word(update.new_category, value.get("new_category"))
    _template(tenant, update, value, category=category)
    if update.correct_category:
        correct = meta_word(update.correct_category, value.get("correct_category"))
        return f"Template {update.template_name} is {category}; Meta will make it {correct} in 24 hours"
    previous = meta_word(update.previous_category, value.get("previous_category")) or "?"
    return f"Template {update.template_name} moved from {previous} to {category}"


def _template_quality(tenant, update, value):
    score = meta_word(update.new_quality_score, value.get("new_quality_score"))
    previous = meta_word(update.previous_quality_score, value.get("previous_quality_score"))
    _template(tenant, update, value, quality_score=score)
    return f"Template {update.template_name} quality: {previous} → {score}"


def _template_components(tenant, update, value):
    from whatsapp.team.actions import sync_templates_job

    _template(tenant, update, value)
    sync_templates_job.enqueue(tenant.pk)  # the webhook names the parts that changed; the sync stores them all
    return f"Template {update.template_name} components changed"


def _account_update(tenant, update, value):
    event = meta_word(update.event, value.get("event"))
    details = []
    if update.violation_info:
        details.append(f"violation {update.violation_info.type}")
    if update.ban_info:
        state = meta_word(update.ban_info.state, value["ban_info"].get("waba_ban_state"))
        details.append(f"ban {state} on {update.ban_info.date:%Y-%m-%d}")
    for restriction, raw in zip(update.restriction_info, value.get("restriction_info") or [], strict=True):
        kind = meta_word(restriction.type, raw.get("restriction_type"))
        details.append(f"{kind} until {restriction.expiration:%Y-%m-%d %H:%M} UTC")
    if update.disconnection_info:
        info, raw = update.disconnection_info, value["disconnection_info"]
        reason, by = meta_word(info.reason, raw.get("reason")), meta_word(info.initiated_by, raw.get("initiated_by"))
        details.append(f"disconnected: {reason} ({by})")
    # PyWA 4.5's AccountUpdate has no partner verification status nor primary business
    # location country, both of which Meta sends: they are read from the raw value.
    if isinstance(value.get("partner_client_certification_info"), dict):
        details.append(f"partner verification {value['partner_client_certification_info'].get('status', '?')}")
    if value.get("country"):
        details.append(f"country {value['country']}")
    return f"Account update: {event}" + (f" ({'; '.join(details)})" if details else "")


_PREFERENCE_WORDS = {
    MarketingPreference.STOP: "stopped",
    MarketingPreference.RESUME: "resumed",
    MarketingPreference.SIGNUP: "signed up for",
}


def _user_preference(tenant, update, value):
    """One customer's marketing preference (the worker splits a change into one per customer)."""
    customer = update.from_user
    found = contact_actions.set_marketing_preference(
        tenant, wa_id=customer.wa_id, user_id=customer.bsuid, stopped=update.value == MarketingPreference.STOP
    )
    preference = value["user_preferences"][0]
    word = _PREFERENCE_WORDS.get(update.value) or meta_word(update.value, preference.get("value"))
    return f"Marketing preferences: {customer.wa_id or customer.bsuid} {word} marketing messages" + (
        "" if found else " (no such contact yet)"
    )


_TYPED = {
    "message_template_status_update": (TemplateStatusUpdate, _template_status),
    "template_category_update": (TemplateCategoryUpdate, _template_category),
    "message_template_quality_update": (TemplateQualityUpdate, _template_quality),
    "message_template_components_update": (TemplateComponentsUpdate, _template_components),
    "account_update": (AccountUpdate, _account_update),
    "user_preferences": (UserMarketingPreferences, _user_preference),
}


# --- Fields PyWA has no type for ----------------------------------------------------------


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


_RAW = {
    "phone_number_quality_update": _phone_number_quality,
    "phone_number_name_update": _phone_number_name,
}
