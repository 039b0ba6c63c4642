"""Webhook bodies shaped like Meta's, for tests, the fake Graph API and the simulated customer.

Pure Python on purpose (no Django): the fake Graph API runs as its own process.
Shapes follow META_FACTS.md sections 2, 6 and 8: timestamps are strings of Unix seconds,
several updates may share one POST, and the signature covers the exact bytes sent.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime

import httpx

STATUS_ORDER = ("sent", "delivered", "read")


def new_wamid():
    """A fresh message id that looks like Meta's (`wamid.` + base64) and is safe in URLs."""
    return "wamid.HBgL" + base64.urlsafe_b64encode(secrets.token_bytes(30)).decode()


def unix_seconds(timestamp=None):
    """Meta's timestamp format: a string of Unix seconds. Accepts None (now), int or datetime."""
    if timestamp is None:
        return str(int(time.time()))
    if isinstance(timestamp, datetime):
        return str(int(timestamp.timestamp()))
    return str(int(timestamp))


def envelope(changes, waba_id="WABA_ID"):
    return {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": changes}]}


def batch(*envelopes):
    """One body carrying every change of the given envelopes, as Meta does when it batches.

    Entries for the same WABA are merged, so receivers must walk every entry and change.
    """
    entries = {}
    for body in envelopes:
        for entry in body["entry"]:
            merged = entries.setdefault(entry["id"], {"id": entry["id"], "changes": []})
            merged["changes"].extend(entry["changes"])
    return {"object": "whatsapp_business_account", "entry": list(entries.values())}


def messages_value(phone_number_id, display_phone_number="15550001111"):
    """The start of every `messages` field value: product and the business number."""
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
    }


def message(
    phone_number_id,
    wa_id,
    kind,
    body,
    name="Customer",
    wamid=None,
    timestamp=None,
    display_phone_number="15550001111",
    user_id=None,
    context=None,
    waba_id="WABA_ID",
    **extra,
):
    """An inbound message of any type, as one full webhook envelope: `body` is the type's
    own object (`{"body": ...}` for text, a list of cards for contacts). `extra` adds
    message-level keys (errors, referral, …). An empty wa_id with a user_id is a customer
    known only by their business-scoped user id."""
    contact = {"profile": {"name": name}, "wa_id": wa_id}
    if user_id:
        contact["user_id"] = user_id
    item = {"from": wa_id, "id": wamid or new_wamid(), "timestamp": unix_seconds(timestamp), "type": kind}
    if body is not None:
        item[kind] = body
    if user_id and not wa_id:
        item["from_user_id"] = user_id
    if context:
        item["context"] = context
    item.update(extra)
    value = messages_value(phone_number_id, display_phone_number)
    value["contacts"] = [contact]
    value["messages"] = [item]
    return envelope([{"value": value, "field": "messages"}], waba_id=waba_id)


def text_message(phone_number_id, wa_id, text, context_wamid=None, display_phone_number="15550001111", **kwargs):
    """An inbound text from a customer, as one full webhook envelope."""
    context = {"from": display_phone_number, "id": context_wamid} if context_wamid else None
    return message(
        phone_number_id,
        wa_id,
        "text",
        {"body": text},
        context=context,
        display_phone_number=display_phone_number,
        **kwargs,
    )


def location_message(phone_number_id, wa_id, latitude, longitude, place_name=None, address=None, **kwargs):
    """A shared location: a pin alone, or a chosen place with its name and address (`name`
    is the customer's profile name, as for every message)."""
    place = {"latitude": latitude, "longitude": longitude}
    place.update({key: value for key, value in (("name", place_name), ("address", address)) if value})
    return message(phone_number_id, wa_id, "location", place, **kwargs)


def contact_card(formatted_name, phone, first_name=None, last_name=None, wa_id=None):
    """One entry of a contacts message: a shared contact card with one phone number."""
    name = {"formatted_name": formatted_name, "first_name": first_name or formatted_name.split()[0]}
    if last_name:
        name["last_name"] = last_name
    number = {"phone": phone, "type": "CELL"}
    if wa_id:
        number["wa_id"] = wa_id
    return {"name": name, "phones": [number]}


def contacts_message(phone_number_id, wa_id, cards, **kwargs):
    """Contact cards the customer shares (`cards` from contact_card)."""
    return message(phone_number_id, wa_id, "contacts", list(cards), **kwargs)


def reaction_message(phone_number_id, wa_id, target_wamid, emoji, **kwargs):
    """The customer reacts to a message; an empty emoji removes the reaction (Meta then
    sends no `emoji` field)."""
    reaction = {"message_id": target_wamid}
    if emoji:
        reaction["emoji"] = emoji
    return message(phone_number_id, wa_id, "reaction", reaction, **kwargs)


def interactive_reply(
    phone_number_id,
    wa_id,
    context_wamid,
    reply_id,
    title,
    description=None,
    display_phone_number="15550001111",
    **kwargs,
):
    """The customer taps a reply button (no description) or chooses a list row, answering the
    business's interactive message `context_wamid`."""
    kind = "list_reply" if description is not None else "button_reply"
    reply = {"id": reply_id, "title": title}
    if description:
        reply["description"] = description
    return message(
        phone_number_id,
        wa_id,
        "interactive",
        {"type": kind, kind: reply},
        context={"from": display_phone_number, "id": context_wamid},
        display_phone_number=display_phone_number,
        **kwargs,
    )


def field_update(field, value, waba_id="WABA_ID", time=None):
    """A change on a field other than messages (templates, numbers, account): no metadata,
    an integer entry time, as Meta sends them."""
    body = envelope([{"value": value, "field": field}], waba_id=waba_id)
    body["entry"][0]["time"] = int(unix_seconds(time))
    return body


def _template_value(template_id, name, language, **fields):
    value = {"message_template_id": template_id, "message_template_name": name, "message_template_language": language}
    return {**value, **{key: val for key, val in fields.items() if val is not None}}


def template_status_update(
    template_id, name, event, language="en_US", category="UTILITY", reason="NONE", waba_id="WABA_ID", **extra
):
    """Meta's review of a template (`message_template_status_update`) sent for the WhatsApp
    Business Account `waba_id`; `extra` adds rejection_info, other_info, disable_info …"""
    value = _template_value(template_id, name, language, event=event, reason=reason, message_template_category=category)
    return field_update("message_template_status_update", {**value, **extra}, waba_id=waba_id)


def template_category_update(
    template_id, name, new_category, previous_category=None, correct_category=None, language="en_US"
):
    """A template's category changed (with previous_category) or will change in 24 hours
    (with correct_category)."""
    value = _template_value(
        template_id,
        name,
        language,
        new_category=new_category,
        previous_category=previous_category,
        correct_category=correct_category,
    )
    return field_update("template_category_update", value)


def template_quality_update(template_id, name, new_score, previous_score, language="en_US"):
    value = _template_value(
        template_id, name, language, new_quality_score=new_score, previous_quality_score=previous_score
    )
    return field_update("message_template_quality_update", value)


def template_components_update(template_id, name, element, language="en_US", title=None, footer=None):
    value = _template_value(
        template_id,
        name,
        language,
        message_template_element=element,
        message_template_title=title,
        message_template_footer=footer,
    )
    return field_update("message_template_components_update", value)


def account_update(event, waba_id="WABA_ID", **details):
    """A change to the business account (`account_update`): violation_info, ban_info,
    restriction_info, … as `details`. Meta sends the business portfolio's id as the entry's."""
    return field_update("account_update", {"event": event, **details}, waba_id=waba_id)


def marketing_preference(wa_id, value, category="marketing_messages", timestamp=None, user_id=None):
    """One customer's preference for marketing messages (`stop`, `resume`, `signup`)."""
    detail = {"stop": "User requested to stop marketing messages"}.get(value, f"User chose {value}")
    preference = {"wa_id": wa_id, "detail": detail, "category": category, "value": value}
    preference["timestamp"] = int(unix_seconds(timestamp))
    if user_id:
        preference["user_id"] = user_id
    return preference


def user_preferences(phone_number_id, *preferences, names=None, display_phone_number="15550001111"):
    """A `user_preferences` change listing `preferences` (from marketing_preference), each
    customer also in contacts[] (with a profile name from `names`, by wa_id)."""
    names = names or {}
    value = messages_value(phone_number_id, display_phone_number)
    value["contacts"] = [
        {"profile": {"name": names.get(item["wa_id"], "Customer")}, "wa_id": item["wa_id"]} for item in preferences
    ]
    value["user_preferences"] = list(preferences)
    return field_update("user_preferences", value)


def phone_number_quality_update(display_phone_number, event, current_limit=None, **extra):
    """A number's quality or messaging limit changed (FLAGGED, UNFLAGGED, DOWNGRADE, UPGRADE, …)."""
    value = {"display_phone_number": display_phone_number, "event": event, **extra}
    if current_limit:
        value["current_limit"] = current_limit
    return field_update("phone_number_quality_update", value)


def phone_number_name_update(display_phone_number, requested_verified_name, decision, **extra):
    """Meta's decision on a number's requested display name (APPROVED, REJECTED, DEFERRED)."""
    value = {
        "display_phone_number": display_phone_number,
        "requested_verified_name": requested_verified_name,
        "decision": decision,
        **extra,
    }
    return field_update("phone_number_name_update", value)


def status(
    phone_number_id,
    wamid,
    status,
    recipient_id,
    timestamp=None,
    error_code=None,
    error_title=None,
    error_details=None,
    tracker=None,
    pricing_category="service",
    display_phone_number="15550001111",
    waba_id="WABA_ID",
    user_id=None,
):
    """A status update for one message we sent, as one full webhook envelope.

    With user_id, `contacts` is added as in Meta's business-scoped user id rollout
    (PyWA 4.5 cannot parse a status without it).
    """
    update = {"id": wamid, "status": status, "timestamp": unix_seconds(timestamp), "recipient_id": recipient_id}
    # Meta puts pricing on `sent` and on one of delivered/read, never on failures.
    if status in ("sent", "delivered"):
        update["pricing"] = _pricing(pricing_category)
    if status == "failed":
        update["errors"] = [_status_error(error_code, error_title, error_details)]
    if tracker is not None:
        update["biz_opaque_callback_data"] = tracker
    value = messages_value(phone_number_id, display_phone_number)
    if user_id:
        value["contacts"] = [{"wa_id": recipient_id, "user_id": user_id}]
    value["statuses"] = [update]
    return envelope([{"value": value, "field": "messages"}], waba_id=waba_id)


def _pricing(category):
    free = category in ("service", "referral_conversion")
    return {
        "billable": not free,
        "pricing_model": "PMP",
        "category": category,
        "type": "free_customer_service" if free else "regular",
    }


def _status_error(code=None, title=None, details=None):
    title = title or "Message failed to send due to an unknown error."
    return {
        "code": code or 131000,
        "title": title,
        "message": title,
        "error_data": {"details": details or title},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }


def graph_error(code, message, details=""):
    """The body of a Graph API error answer (META_FACTS.md section 6)."""
    return {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or message},
            "fbtrace_id": "A" + secrets.token_urlsafe(16),
        }
    }


def encode(payload):
    """The bytes Meta would send. ensure_ascii stays on: Meta escapes non-ASCII as \\uXXXX."""
    return json.dumps(payload, separators=(",", ":")).encode("ascii")


def sign(body_bytes, app_secret):
    """The X-Hub-Signature-256 header value for these exact bytes."""
    key = app_secret.encode() if isinstance(app_secret, str) else app_secret
    return "sha256=" + hmac.new(key, body_bytes, hashlib.sha256).hexdigest()


def deliver(url, payload_or_bytes, app_secret, timeout=10):
    """POST a signed webhook like Meta does and return the httpx.Response."""
    body = payload_or_bytes if isinstance(payload_or_bytes, bytes) else encode(payload_or_bytes)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, app_secret)}
    return httpx.post(url, content=body, headers=headers, timeout=timeout)
