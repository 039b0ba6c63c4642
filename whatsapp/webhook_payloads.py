"""Reading Meta's webhook bodies: pure functions over the parsed JSON, no storage. The webhook
package processes bodies with them; privacy exports and the logs page read stored ones."""

import json


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
