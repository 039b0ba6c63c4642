"""Reading a webhook body Meta sent, whatever its shape: the JSON object it holds and its
changes. Below every package that reads stored bodies (the webhook's processing, the logs
page, privacy's redaction), so none of them has to import another for it."""

import json
import re

# The identifiers a body names, for the logs' search: wamids, and quoted strings of digits
# (phone numbers and phone number ids; Unix times too, harmless). The same expression and
# bounds as the database's whatsapp_webhook_terms() (migration whatsapp 0012), which fills
# the terms of rows inserted without them (COPY, the ORM).
TERM = re.compile(rb'wamid\.[A-Za-z0-9_=+/.-]+|"[0-9]+"')


def read_payload(data):
    """The JSON object a body holds. Raises ValueError saying why there is none: not JSON,
    not an object, or nested deeper than the parser's recursion limit (about a thousand
    levels, where json.loads raises RecursionError)."""
    try:
        payload = json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply to read") from None
    if not isinstance(payload, dict):
        raise ValueError("the body is not a JSON object")
    return payload


def dicts(items):
    """The objects of a list that should hold objects; anything else in a payload is skipped
    here and reported when its item is processed."""
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def changes(payload):
    """(entry, field, value) for every change of a payload, whatever its shape."""
    for entry in dicts(payload.get("entry")):
        for change in dicts(entry.get("changes")):
            field = change.get("field") if isinstance(change.get("field"), str) else "unknown"
            value = change.get("value") if isinstance(change.get("value"), dict) else {}
            yield entry, field, value


def search_terms(body):
    """The wamids (up to 255 characters) and quoted numbers of 7 to 20 digits that the raw
    bytes `body` name, each once, sorted."""
    terms = {found.strip(b'"').decode("ascii") for found in TERM.findall(body)}
    return sorted(term for term in terms if 7 <= len(term) <= (255 if term.startswith("wamid.") else 20))
