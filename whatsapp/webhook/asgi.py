"""`/webhooks/whatsapp/<slug>/`, every method, as a raw ASGI application in front of Django.

Why: on 2 cores a Django async view stored ~670 webhooks/s under Uvicorn and ~470/s under
Daphne, against ~3,100/s for a bare ASGI app doing the same INSERT (bench/). The time goes to
Django's request cycle (middleware, signals, thread hops), not to the work. So this endpoint
answers the URL itself, on every database: a POST is read up to WEBHOOK_MAX_BODY_BYTES (the one
place that limit is enforced), its signature checked, its raw body stored with its processing
task (or, without a valid signature, only counted), then answered; a GET is Meta's
verification handshake; other methods get 405. Requests Django must refuse or redirect (a
host it does not allow, plain HTTP under SECURE_SSL_REDIRECT) and every other URL go on to
Django. The URLconf's view (views.py) hands Django's requests for the URL to this same
endpoint.

Where it stores is storage.py's business: the process's async pool on PostgreSQL, Django's
connection on SQLite. While the database cannot be reached the answer is 503, never 200 for
what was not stored; Meta retries.
"""

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from whatsapp.models import WebhookEvent
from whatsapp.webhook import ingest, storage

logger = logging.getLogger(__name__)

PATH = re.compile(r"^/webhooks/whatsapp/(?P<slug>[-a-zA-Z0-9_]+)/$")
# Bodies this large are parsed in a thread, so one 3 MB batch cannot stall the event loop.
PARSE_IN_THREAD_BYTES = 256 * 1024


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: bytes = b"application/json"
    headers: list = field(default_factory=list)

    @classmethod
    def of(cls, status, reason):
        """ "ok" for a 200, Meta's kind of error object otherwise."""
        if status == 200:
            return cls(200, b"ok", b"text/plain")
        return cls(status, json.dumps({"error": reason}).encode())


class WebhookEndpoint:
    """ASGI middleware: requests for the webhook URL are answered here, everything else by
    `app`. `database` is storage.for_this_process() unless given (the view gives Django's)."""

    def __init__(self, app, database=None):
        self.app = app
        self.database = database or storage.for_this_process()

    async def __call__(self, scope, receive, send):
        match = PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or not self._handles(scope):
            return await self.app(scope, receive, send)
        answer = await self.answer(match["slug"], scope, receive)
        headers = [
            (b"content-type", answer.content_type),
            (b"content-length", str(len(answer.body)).encode()),
            (b"x-content-type-options", b"nosniff"),
            *answer.headers,
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    def _handles(self, scope):
        """Requests Django must see: a host it refuses (400), or plain HTTP it redirects."""
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return False
        return not settings.SECURE_SSL_REDIRECT or _is_secure(scope)

    async def answer(self, slug, scope, receive):
        """The Answer to one request for the URL of tenant `slug`."""
        if scope["method"] == "POST":
            return Answer.of(*await self.receive_webhook(slug, dict(scope["headers"]), receive))
        if scope["method"] == "GET":
            return await self.answer_handshake(slug, scope.get("query_string", b""))
        answer = Answer.of(405, "Method not allowed.")
        answer.headers.append((b"allow", b"GET, POST"))
        return answer

    async def answer_handshake(self, slug, query_string):
        """Meta's GET verification, answered by PyWA with the tenant's verify token."""
        query = {name: values[0] for name, values in parse_qs(query_string.decode("latin-1")).items()}
        try:
            tenant = await self.database.tenant(slug, fresh=True)
        except storage.Unavailable:
            return Answer.of(503, "The database is unavailable; please retry.")
        if tenant is None:
            return Answer.of(404, "No such tenant.")
        body, status = await asyncio.to_thread(
            ingest.answer_handshake,
            tenant.verify_token,
            mode=query.get("hub.mode"),
            given_token=query.get("hub.verify_token"),
            challenge=query.get("hub.challenge"),
        )
        return Answer(status, (body or "").encode(), b"text/plain")

    async def receive_webhook(self, slug, headers, receive):
        """(status, reason) for one POST, after storing what it must."""
        limit = settings.WEBHOOK_MAX_BODY_BYTES
        try:
            declared = int(headers.get(b"content-length") or 0)
        except ValueError:
            return 400, "Bad Content-Length header."
        if declared > limit:
            return 413, f"Body over {limit} bytes."
        body = await _read_body(receive, limit)
        if body is None:
            return 413, f"Body over {limit} bytes."
        header = headers.get(b"x-hub-signature-256", b"").decode("latin-1")
        try:
            status, reason = await self._keep(slug, body, header)
        except storage.Unavailable as error:
            logger.warning("Webhook for %s not stored, the database is unavailable: %s", slug, error)
            return 503, "The database is unavailable; please retry."
        except Exception:
            # Not stored, so not acknowledged: Meta will send it again.
            logger.exception("Webhook for %s could not be stored", slug)
            return 500, "Could not store the update; please retry."
        if status != 200:
            logger.warning("Webhook for %s not processed: %s", slug, reason)
        return status, reason

    async def _keep(self, slug, body, header):
        """Store a signed body, or count a refused one: (status, reason). The first try may use
        cached keys; the second reads them afresh, since a signature that does not match may
        mean a changed secret, and a tenant that is gone may have been replaced."""
        for fresh in (False, True):
            tenant = await self.database.tenant(slug, fresh)
            if tenant is None:
                return 404, "No such tenant."
            if len(body) > PARSE_IN_THREAD_BYTES:
                received = await asyncio.to_thread(ingest.Received.read, tenant.app_secret, body, header)
            else:
                received = ingest.Received.read(tenant.app_secret, body, header)
            if received.signature == WebhookEvent.Signature.INVALID and not fresh:
                continue
            try:
                if received.signature == WebhookEvent.Signature.VALID:
                    await self.database.store(tenant.id, body, received)
                else:
                    await self.database.count_reject(tenant.id, body, received.signature)
            except storage.TenantGone:
                if fresh:
                    raise
                continue
            return received.answer
        raise AssertionError("unreachable: the fresh try always answers")

    async def close(self):
        await self.database.close()


def _is_secure(scope):
    if scope.get("scheme") == "https":
        return True
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if not proxy:
        return False
    header = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
    return dict(scope["headers"]).get(header, b"").decode("latin-1") == proxy[1]


async def _read_body(receive, limit):
    """The request body, or None once it passes `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
