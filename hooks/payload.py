"""The bytes a receiver gets for an event, and how they are signed (Standard Webhooks)."""

import json
from datetime import UTC

from standardwebhooks import Webhook

# An event's body is at most this long; a bigger one keeps its envelope and says so.
MAX_BODY_BYTES = 256 * 1024


def dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def bounded(data):
    """`data` itself when its JSON fits in the body limit, else a note that it did not."""
    size = len(dumps(data).encode())
    if size <= MAX_BODY_BYTES - 1024:
        return data
    return {"truncated": True, "size": size, "id": data.get("id") if isinstance(data, dict) else None}


def body(event):
    return dumps(
        {
            "id": event.public_id,
            "type": event.type,
            "timestamp": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "conversation_id": event.conversation_id,
            "sequence": event.sequence,
            "data": event.data,
        }
    )


def signers(secrets):
    return [Webhook(secret) for secret in secrets]


def headers(event_id, body_text, signers, sent_at):
    """The three Standard Webhooks headers; one `v1,` signature per signer (secret), space-separated."""
    signatures = " ".join(signer.sign(event_id, sent_at, body_text) for signer in signers)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "inbox-webhooks/1",
    }
