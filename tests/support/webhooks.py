"""Signed webhook posts through Django's test client, as Meta sends them."""

from whatsapp.simulator import payloads


class WebhookPoster:
    """Posts signed bodies to a tenant's webhook through Django's test client."""

    def __init__(self, client, slug, app_secret):
        self.client, self.slug, self.app_secret = client, slug, app_secret

    def post(self, payload, *, signature="sign", **headers):
        body = payload if isinstance(payload, bytes) else payloads.encode(payload)
        if signature == "sign":
            headers["HTTP_X_HUB_SIGNATURE_256"] = payloads.sign(body, self.app_secret)
        elif signature is not None:
            headers["HTTP_X_HUB_SIGNATURE_256"] = signature
        return self.client.post(
            f"/webhooks/whatsapp/{self.slug}/", data=body, content_type="application/json", **headers
        )


def store_signed(tenant, app_secret, payload):
    """Store a signed body as the webhook endpoint does (the event and its processing job, in
    one statement on PostgreSQL), without an HTTP round trip: for tests that need thousands."""
    from whatsapp.webhook import ingest, storage

    body = payload if isinstance(payload, bytes) else payloads.encode(payload)
    received = ingest.Received.read(app_secret, body, payloads.sign(body, app_secret))
    event_id, _is_new = storage.store(tenant.pk, body, received)
    return event_id
