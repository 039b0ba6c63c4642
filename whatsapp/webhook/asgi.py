"""`POST /webhooks/whatsapp/<slug>/` as a raw ASGI application, in front of Django.

Why: on 2 cores a Django async view stored ~670 webhooks/s under Uvicorn and ~470/s under
Daphne, against ~3,100/s for a bare ASGI app doing the same INSERT (issue 8, bench/). The
time goes to Django's request cycle (middleware, signals, thread hops), not to the work.
This path does the same work as webhook.py's view and gives the same answers, from the
same pieces of ingest.py (Received, event_fields, REJECT_SQL): read the body with a size cap,
check the signature, store the raw WebhookEvent and its processing task in one transaction
(or count a post without a valid signature), answer.
Everything else (the GET handshake, other methods, every other URL) goes on to Django.

The tenant's id and app secret are kept in memory for SECRET_CACHE_SECONDS after they are
read; a signature that does not match the cached secret, or a tenant that no longer exists,
reads them again at once, so a changed secret applies to the next webhook. Nothing else is
cached, so any number of web processes can run side by side. Rows go in through psycopg's async pool, one per
process, of WEBHOOK_POOL_SIZE connections (on top of Django's own pool).
"""

import asyncio
import json
import logging
import re
import time

from django.conf import settings
from django.db import connections
from django.http.request import split_domain_port, validate_host
from psycopg.conninfo import make_conninfo
from psycopg.errors import ForeignKeyViolation
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from inbox.crypto import decrypt
from whatsapp.jobs import backend as task_backend
from whatsapp.models import WebhookEvent
from whatsapp.webhook import ingest

logger = logging.getLogger(__name__)

PATH = re.compile(r"^/webhooks/whatsapp/(?P<slug>[-a-zA-Z0-9_]+)/$")
SECRET_CACHE_SECONDS = 5.0
# Bodies this large are parsed in a thread, so one 3 MB batch cannot stall the event loop.
PARSE_IN_THREAD_BYTES = 256 * 1024

# Posts refused for their signature are written by this many pool connections at most:
# they all update their minute's one row, so more would only wait on its lock, holding
# connections signed posts need. With 2,000 unsigned posts racing 200 signed ones through
# one process, the signed ones' median answer took 1.4-3.1 s with rejects free to take
# every connection, 0.22 s with one writer.
REJECT_WRITERS = 1

TENANT_SQL = """
    SELECT t.id, c.app_secret FROM tenants_tenant t JOIN whatsapp_connection c ON c.tenant_id = t.id
    WHERE t.slug = %s AND t.active
"""
# One statement, so one round trip and one implicit transaction: the event, or one more
# delivery of a body we hold (the partial unique index on valid bodies), and for a new
# processable event its task, the row django_tasks_db's DatabaseBackend.enqueue writes
# (tests/test_webhook_fast_path.py has the worker run it), and for customers' messages the
# notification that wakes a worker on commit, as task_backend.NotifyingDatabaseBackend sends.
# Status-only events are not announced: at hundreds a second a notification each (PostgreSQL
# waking every listener, each worker's listener thread taking the GIL from its tasks) made a
# message's webhook-to-browser time 2-3 times longer under load (bench/), and a worker busy
# with statuses takes the next one anyway; an idle one finds it within its --interval.
STORE_SQL = """
    WITH event AS (
        INSERT INTO whatsapp_webhookevent
            (tenant_id, received_at, body, body_sha256, signature, state, deliveries, fields, item_counts, error)
        VALUES (%(tenant_id)s, now(), %(body)s, %(body_sha256)s, %(signature)s, %(state)s, 1, %(fields)s,
                %(item_counts)s, %(error)s)
        ON CONFLICT (tenant_id, body_sha256) WHERE signature = 'valid'
        DO UPDATE SET deliveries = whatsapp_webhookevent.deliveries + 1
        RETURNING id, xmax = 0 AS is_new, state
    ), task AS (
        INSERT INTO {task_table}
            (id, status, enqueued_at, args_kwargs, priority, task_path, worker_ids, queue_name, backend_name,
             run_after, exception_class_path, traceback)
        SELECT gen_random_uuid(), 'READY', now(),
               jsonb_build_object('args', jsonb_build_array(id), 'kwargs', '{{}}'::jsonb),
               %(priority)s, %(task_path)s, '[]', %(queue_name)s, %(backend)s, '9999-01-01T00:00:00+00:00', '', ''
        FROM event WHERE is_new AND state = 'pending'
        RETURNING id, queue_name
    )
    SELECT pg_notify(%(channel)s, queue_name || ':' || id) FROM task WHERE %(notify)s
"""


class WebhookFastPath:
    """ASGI middleware: webhook POSTs are handled here, everything else by `app`."""

    def __init__(self, app):
        self.app = app
        self.secrets = {}  # slug -> (read at, tenant id, app secret)
        self.pool, self.pool_loop = None, None
        self.pool_lock = asyncio.Lock()
        self.reject_writers = asyncio.Semaphore(REJECT_WRITERS)

    async def __call__(self, scope, receive, send):
        match = PATH.match(scope.get("path", "")) if scope["type"] == "http" and scope["method"] == "POST" else None
        if match is None or not self._handles(scope):
            return await self.app(scope, receive, send)
        status, reason = await self.receive_webhook(match["slug"], dict(scope["headers"]), receive)
        await _answer(send, status, reason)

    def _handles(self, scope):
        """Requests Django must see: a host it refuses (400), or plain HTTP it redirects."""
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return False
        return not settings.SECURE_SSL_REDIRECT or _is_secure(scope)

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
        for fresh in (False, True):
            tenant = await self._tenant(slug, fresh)
            if tenant is None:
                return 404, "No such tenant."
            answer = await self._receive(slug, tenant, body, header, last_try=fresh)
            if answer is not None:
                return answer
        raise AssertionError("unreachable: the fresh try always answers")

    async def _receive(self, slug, tenant, body, header, last_try):
        """(status, reason), or None to try again with the tenant read afresh: a cached secret
        that does not match may have just changed, and a cached tenant may have been replaced."""
        tenant_id, app_secret = tenant
        if len(body) > PARSE_IN_THREAD_BYTES:
            received = await asyncio.to_thread(ingest.Received.read, app_secret, body, header)
        else:
            received = ingest.Received.read(app_secret, body, header)
        if received.signature == WebhookEvent.Signature.INVALID and not last_try:
            return None
        status, reason = received.answer
        if status != 200:
            logger.warning("Webhook for %s not processed: %s", slug, reason)
        try:
            if received.signature == WebhookEvent.Signature.VALID:
                await self.store(tenant_id, body, received)
            else:
                await self.count_reject(tenant_id, body, received.signature)
        except ForeignKeyViolation:
            if not last_try:
                return None
            logger.exception("Webhook for %s could not be stored", slug)
            return 500, "Could not store the update; please retry."
        except Exception:
            # Not stored, so not acknowledged: Meta will send it again.
            logger.exception("Webhook for %s could not be stored", slug)
            return 500, "Could not store the update; please retry."
        return status, reason

    async def store(self, tenant_id, body, received):
        """The event and, for a new processable one, its task: one statement."""
        from django_tasks_db.models import DBTaskResult

        from whatsapp.webhook.ingest import process_webhook_event as task

        row = ingest.event_fields(body, received.signature, received.payload, received.error)
        priority = ingest.processing_priority(row["item_counts"])
        row.update(
            tenant_id=tenant_id,
            item_counts=Jsonb(row["item_counts"]),
            priority=priority,
            notify=priority >= ingest.MESSAGES_PRIORITY,
            task_path=task.module_path,
            queue_name=task.queue_name,
            backend=task.backend,
            channel=task_backend.CHANNEL,
        )
        pool = await self._pool()
        async with pool.connection() as connection:
            await connection.execute(STORE_SQL.format(task_table=DBTaskResult._meta.db_table), row)

    async def count_reject(self, tenant_id, body, signature):
        """A post refused for its signature: one more in its minute's count (ingest.REJECT_SQL),
        written by one of REJECT_WRITERS connections."""
        pool = await self._pool()
        async with self.reject_writers, pool.connection() as connection:
            await connection.execute(ingest.REJECT_SQL, ingest.reject_row(tenant_id, body, signature))

    async def _tenant(self, slug, fresh=False):
        cached = self.secrets.get(slug)
        if cached and not fresh and time.monotonic() - cached[0] < SECRET_CACHE_SECONDS:
            return cached[1:]
        pool = await self._pool()
        async with pool.connection() as connection:
            row = await (await connection.execute(TENANT_SQL, (slug,))).fetchone()
        if row is None:
            self.secrets.pop(slug, None)
            return None
        self.secrets[slug] = (time.monotonic(), row[0], decrypt(row[1]))
        return self.secrets[slug][1:]

    async def _pool(self):
        """The process's pool, opened on first use in the running loop (a pool belongs to
        one event loop; tests run each in a loop of its own)."""
        loop = asyncio.get_running_loop()
        if self.pool is not None and self.pool_loop is loop:
            return self.pool
        async with self.pool_lock:
            if self.pool is None or self.pool_loop is not loop:
                pool = AsyncConnectionPool(
                    database_conninfo(),
                    min_size=1,
                    max_size=settings.WEBHOOK_POOL_SIZE,
                    open=False,
                    kwargs={"autocommit": True},
                    timeout=settings.DATABASES["default"]["OPTIONS"]["pool"]["timeout"],
                )
                await pool.open()
                self.pool, self.pool_loop = pool, loop
        return self.pool

    async def close(self):
        if self.pool is not None:
            await self.pool.close()
            self.pool = None


def database_conninfo():
    """Django's default database as a libpq connection string (the test database in tests)."""
    params = connections["default"].settings_dict
    return make_conninfo(
        dbname=params["NAME"],
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=str(params["PORT"]) if params["PORT"] else None,
    )


def enabled():
    """The fast path needs PostgreSQL; embedded mode (SQLite) keeps Django's view."""
    return settings.WEBHOOK_FAST_PATH and connections["default"].vendor == "postgresql"


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


async def _answer(send, status, reason):
    if status == 200:
        body, content_type = b"ok", b"text/plain"
    else:
        body, content_type = json.dumps({"error": reason}).encode(), b"application/json"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
