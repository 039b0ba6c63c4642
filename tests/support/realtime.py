"""The browser's websocket in tests: a member's socket through the ASGI application, and a
customer's message arriving as the webhook's worker would store it."""

import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from inbox.asgi import application
from tenants.models import Tenant
from whatsapp.simulator import payloads
from whatsapp.webhook import ingest, storage

from .tenants import ACME


def session_headers(user):
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return [(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


async def connect(user, slug):
    headers = await database_sync_to_async(session_headers)(user)
    communicator = WebsocketCommunicator(application, f"/ws/t/{slug}/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


def receive_customer_message(text):
    """What the webhook's worker does with a customer's message."""
    from whatsapp.models import WebhookEvent

    payload = payloads.text_message(ACME["phone_number_id"], "15551234567", text, name="Ada")
    body = payloads.encode(payload)
    received = ingest.Received(WebhookEvent.Signature.VALID, payload)
    event_id, _ = storage.store(Tenant.objects.get(slug="acme").pk, body, received)
    ingest.process_event_id(event_id)


def events_in(channel_message):
    """The (event, data) pairs a channel-layer message carries to browsers: one for
    `inbox.event`, several for `inbox.events` (whatsapp/realtime/events.py); none for others."""
    kind = channel_message["type"]
    frames = [channel_message["frame"]] if kind == "inbox.event" else channel_message.get("frames", [])
    if kind not in ("inbox.event", "inbox.events"):
        return []
    return [(decoded["event"], decoded["data"]) for decoded in map(json.loads, frames)]
