"""What the webhook endpoint (asgi.py) reads and writes: a tenant's keys by its slug, a signed
body stored with its processing task, a post refused for its signature counted.

On PostgreSQL a body and its task go in with one statement (`store_sql()`: one round trip,
one implicit transaction; the task's part comes from the task backend), whichever connection
runs it. SQLite cannot insert from a WITH query, so there the ORM does the same in one
transaction. The statements run on one of two connections:

- `PooledDatabase`: a psycopg async pool per process, PostgreSQL only: the endpoint in a
  server, where a thread hop per webhook would cost more than the insert.
- `DjangoDatabase`: Django's own connection, in the thread Django keeps for sync code: on
  SQLite (one writer at a time), and for the URLconf's view, which runs inside Django's
  request (and a test's transaction).
"""

import asyncio
import functools
import hashlib
import time
from dataclasses import dataclass

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg.conninfo import make_conninfo
from psycopg.errors import ForeignKeyViolation
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from inbox.crypto import decrypt
from whatsapp.models import WebhookEvent, WebhookReject
from whatsapp.webhook import ingest
from whatsapp.webhook_body import search_terms

SECRET_CACHE_SECONDS = 5.0
# Posts refused for their signature are written by this many pool connections at most:
# they all update their minute's one row, so more would only wait on its lock, holding
# connections signed posts need. With 2,000 unsigned posts racing 200 signed ones through
# one process, the signed ones' median answer took 1.4-3.1 s with rejects free to take
# every connection, 0.22 s with one writer.
REJECT_WRITERS = 1
# Signed bodies are committed by this many pool connections at once, in groups of at most
# GROUP_MAX: what arrives meanwhile waits for the next group (PooledDatabase.store).
COMMITTERS = 2
GROUP_MAX = 100
# libpq's connect timeout (it counts whole seconds, 2 at least): a database host that stops
# answering must not hold the pool's connection attempts.
CONNECT_TIMEOUT_SECONDS = 2


class Unavailable(Exception):
    """The database cannot be reached: nothing was stored."""


class TenantGone(Exception):
    """The tenant read from the cache no longer exists (deleted, or replaced under its slug)."""


@dataclass(frozen=True)
class TenantKeys:
    id: int
    app_secret: str
    sealed_verify_token: str

    @property
    def verify_token(self):
        return decrypt(self.sealed_verify_token)


TENANT_SQL = """
    SELECT t.id, c.app_secret, c.verify_token FROM tenants_tenant t JOIN whatsapp_connection c ON c.tenant_id = t.id
    WHERE t.slug = %s AND t.active
"""


def _tenant_keys(row):
    return None if row is None else TenantKeys(row[0], decrypt(row[1]), row[2])


def event_fields(body, signature, payload=None, error=""):
    """The columns of a new WebhookEvent for these signed bytes."""
    fields, counts = ingest.summarize(payload) if isinstance(payload, dict) else ("", {})
    row = {
        # PostgreSQL text cannot hold NUL; the digest still covers the exact bytes.
        "body": body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "signature": signature,
        "fields": fields,
        "item_counts": counts,
        # Found here rather than by the database's trigger, which then skips the row: there
        # they cost PostgreSQL ~0.25 ms of CPU a webhook (a quarter to a third of the statement);
        # here ~0.02 ms.
        "search_terms": search_terms(body),
        "state": WebhookEvent.State.PENDING,
        "error": "",
    }
    if error:
        row["state"], row["error"] = WebhookEvent.State.FAILED, error
    return row


@functools.cache
def store_sql():
    """The event, or one more delivery of a body we hold (the partial unique index on valid
    bodies), and for a new processable event its task and, for customers' messages, the
    notification that wakes a worker on commit. Status-only events are not announced: at
    hundreds a second a notification each (PostgreSQL waking every listener, each worker's
    listener thread taking the GIL from its tasks) made a message's webhook-to-browser time 2-3
    times longer under load (bench/), and a worker busy with statuses takes the next one
    anyway; an idle one finds it within its --interval."""
    enqueue = ingest.process_webhook_event.get_backend().enqueue_each_sql("processable", "jsonb_build_array(id)")
    return f"""
        WITH event AS (
            INSERT INTO whatsapp_webhookevent
                (tenant_id, received_at, body, body_sha256, signature, state, deliveries, fields, item_counts,
                 search_terms, error)
            VALUES (%(tenant_id)s, now(), %(body)s, %(body_sha256)s, %(signature)s, %(state)s, 1, %(fields)s,
                    %(item_counts)s, %(search_terms)s, %(error)s)
            ON CONFLICT (tenant_id, body_sha256) WHERE signature = 'valid'
            DO UPDATE SET deliveries = whatsapp_webhookevent.deliveries + 1
            RETURNING id, xmax = 0 AS is_new, state
        ), processable AS (
            SELECT id FROM event WHERE is_new AND state = 'pending'
        ), {enqueue}
        SELECT id, is_new, (SELECT count(*) FROM notified) FROM event
    """


def store_params(tenant_id, body, received):
    row = event_fields(body, received.signature, received.payload, received.error)
    row.update(_task_params(ingest.processing_priority(row["item_counts"])))
    row.update(tenant_id=tenant_id, item_counts=Jsonb(row["item_counts"]), search_terms=Jsonb(row["search_terms"]))
    return row


@functools.cache
def _task_params(priority):
    """The processing task's part of the parameters, the same for every event of a priority:
    made once, since making a task's variant and checking it cost ~0.1 ms, a tenth of a
    webhook's whole time in the web process (bench/)."""
    task = ingest.process_webhook_event.using(priority=priority)
    return task.get_backend().enqueue_params(task, notify=priority >= ingest.MESSAGES_PRIORITY)


# Whoever knows a tenant's URL can post to it, so a post without a valid signature only
# adds one to its minute's count; the minute's first body is kept, cut, as a sample. One
# statement, the same on both connections and both databases: posts racing on separate
# connections can neither make a second row nor lose a count.
REJECT_SQL = """
    INSERT INTO whatsapp_webhookreject (tenant_id, minute, missing, invalid, sample, sample_reason, sample_size)
    VALUES (%(tenant_id)s, %(minute)s, %(missing)s, %(invalid)s, %(sample)s, %(reason)s, %(size)s)
    ON CONFLICT (tenant_id, minute) DO UPDATE SET
        missing = whatsapp_webhookreject.missing + excluded.missing,
        invalid = whatsapp_webhookreject.invalid + excluded.invalid
"""


def this_minute():
    return timezone.now().replace(second=0, microsecond=0)


def reject_row(tenant_id, body, signature):
    """The parameters of REJECT_SQL for one post refused for its signature."""
    return {
        "tenant_id": tenant_id,
        "minute": this_minute(),
        "reason": signature,
        "missing": int(signature == WebhookEvent.Signature.MISSING),
        "invalid": int(signature == WebhookEvent.Signature.INVALID),
        "sample": body[: WebhookReject.SAMPLE_BYTES],
        "size": len(body),
    }


# --- On Django's connection --------------------------------------------------------------


def read_tenant(slug):
    with connection.cursor() as cursor:
        cursor.execute(TENANT_SQL, [slug])
        return _tenant_keys(cursor.fetchone())


def store(tenant_id, body, received):
    """Store a signed POST's raw body with its processing task; a body we already hold counts
    one more delivery instead. Returns (event id, is_new)."""
    if connection.vendor != "postgresql":
        return _store_with_the_orm(tenant_id, body, received)
    with connection.cursor() as cursor:
        cursor.execute(store_sql(), store_params(tenant_id, body, received))
        event_id, is_new, _notified = cursor.fetchone()
    return event_id, is_new


def _store_with_the_orm(tenant_id, body, received):
    """store_sql()'s work where WITH cannot insert (SQLite): the same rows, in one transaction."""
    fields = event_fields(body, received.signature, received.payload, received.error)
    event = WebhookEvent(tenant_id=tenant_id, **fields)
    with transaction.atomic():
        try:
            with transaction.atomic():
                event.save()
        except IntegrityError:
            held = WebhookEvent.objects.filter(
                tenant_id=tenant_id, body_sha256=event.body_sha256, signature=WebhookEvent.Signature.VALID
            )
            held.update(deliveries=F("deliveries") + 1)
            return held.values_list("pk", flat=True).get(), False
        if event.state == WebhookEvent.State.PENDING:
            priority = ingest.processing_priority(event.item_counts)
            ingest.process_webhook_event.using(priority=priority).enqueue(event.pk)
    return event.pk, True


def count_reject(tenant_id, body, signature):
    row = reject_row(tenant_id, body, signature)
    row["minute"] = connection.ops.adapt_datetimefield_value(row["minute"])  # SQLite keeps naive UTC text
    with connection.cursor() as cursor:
        cursor.execute(REJECT_SQL, row)


def _on_django_connection(function):
    async def run(*args):
        try:
            return await sync_to_async(function)(*args)
        except OperationalError as error:
            raise Unavailable(str(error)) from error

    return run


class DjangoDatabase:
    """The endpoint's database calls on Django's connection, each in Django's thread for sync
    code. The tenant is read for every post: no cache to go stale inside a transaction."""

    async def tenant(self, slug, fresh=False):
        return await _on_django_connection(read_tenant)(slug)

    async def store(self, tenant_id, body, received):
        return await _on_django_connection(store)(tenant_id, body, received)

    async def count_reject(self, tenant_id, body, signature):
        await _on_django_connection(count_reject)(tenant_id, body, signature)

    async def close(self):
        pass


# --- On the webhook pool ----------------------------------------------------------------


class PooledDatabase:
    """The endpoint's database calls on psycopg's async pool of WEBHOOK_POOL_SIZE connections
    (on top of Django's own pool), opened in the running event loop on first use.

    A tenant's keys are kept for SECRET_CACHE_SECONDS; `tenant(slug, fresh=True)` reads them
    again (a signature that does not match may mean a new secret), as does a tenant that no
    longer exists (TenantGone). Nothing else is cached, so any number of processes can run.

    When PostgreSQL restarts, every connection of the pool is dead: the first statement that
    finds one replaces them all at once and runs again, so Meta's next retry is stored. While
    the database is down, a statement waits WEBHOOK_POOL_TIMEOUT at most, then Unavailable."""

    def __init__(self):
        self.secrets = {}  # slug -> (read at, TenantKeys)
        self.pool, self.pool_loop = None, None
        self.pool_lock = asyncio.Lock()
        self.reject_writers = asyncio.Semaphore(REJECT_WRITERS)
        self.drained_at = 0.0
        self.waiting, self.committers, self.committer_tasks = [], 0, set()

    async def tenant(self, slug, fresh=False):
        cached = self.secrets.get(slug)
        if cached and not fresh and time.monotonic() - cached[0] < SECRET_CACHE_SECONDS:
            return cached[1]
        keys = _tenant_keys(await self._fetchone(TENANT_SQL, (slug,)))
        if keys is None:
            self.secrets.pop(slug, None)
        else:
            self.secrets[slug] = (time.monotonic(), keys)
        return keys

    async def store(self, tenant_id, body, received):
        """(event id, is new) once the body is committed. Bodies that arrive while
        COMMITTERS groups are being committed wait, and go in together as the next group:
        one transaction, its statements pipelined, one WAL flush. Under load that saves
        PostgreSQL a commit per webhook (~0.2 ms of its CPU, most of a flush) and the
        process a pool checkout and a round trip; alone, a body is committed at once."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiting.append((store_params(tenant_id, body, received), waiter))
        if self.committers < COMMITTERS:
            self.committers += 1
            committer = asyncio.create_task(self._commit_groups())
            self.committer_tasks.add(committer)
            committer.add_done_callback(self.committer_tasks.discard)
        event_id, is_new, _notified = await waiter
        return event_id, is_new

    async def _commit_groups(self):
        try:
            while self.waiting:
                group, self.waiting = self.waiting[:GROUP_MAX], self.waiting[GROUP_MAX:]
                await self._commit(group)
        finally:
            self.committers -= 1

    async def _commit(self, group):
        """Commit `group` [(params, waiter)] and answer each waiter: its row, or its error."""
        if len(group) > 1:
            try:
                rows = await self._store_together([params for params, _ in group])
            except (PoolTimeout, Unavailable) as error:
                # The database is out of reach: every body of the group would wait as long.
                for _, waiter in group:
                    _answer(waiter, error=Unavailable(str(error)))
                return
            except psycopg.Error:
                pass  # one body's error (or a dropped connection): each alone, to answer each for itself
            except Exception as error:
                for _, waiter in group:
                    _answer(waiter, error=error)
                raise
            else:
                for (_, waiter), row in zip(group, rows):
                    _answer(waiter, row)
                return
        for params, waiter in group:
            try:
                _answer(waiter, await self._fetchone(store_sql(), params))
            except ForeignKeyViolation as error:
                gone = TenantGone()
                gone.__cause__ = error
                _answer(waiter, error=gone)
            except Exception as error:
                _answer(waiter, error=error)

    async def _store_together(self, params_list):
        """store_sql() for each of `params_list` in one transaction: the rows, in order."""
        pool = await self._pool()
        async with pool.connection() as pooled:
            async with pooled.transaction(), pooled.cursor() as cursor:
                await cursor.executemany(store_sql(), params_list, returning=True)
                rows = [await cursor.fetchone()]
                while cursor.nextset():
                    rows.append(await cursor.fetchone())
        return rows

    async def count_reject(self, tenant_id, body, signature):
        async with self.reject_writers:
            try:
                await self._fetchone(REJECT_SQL, reject_row(tenant_id, body, signature))
            except ForeignKeyViolation as error:
                raise TenantGone() from error

    async def _fetchone(self, statement, params):
        """The statement's first row (None for a statement without rows)."""
        for last_try in (False, True):
            pool, pooled = await self._pool(), None
            asked_at = time.monotonic()
            try:
                async with pool.connection() as pooled:
                    cursor = await pooled.execute(statement, params)
                    return await cursor.fetchone() if cursor.description else None
            except PoolTimeout as error:
                raise Unavailable(str(error)) from error
            except psycopg.OperationalError as error:
                if pooled is None or not pooled.broken:
                    raise
                if last_try:
                    raise Unavailable(str(error)) from error
                await self._replace_connections(pool, asked_at)
        raise AssertionError("unreachable: the last try returns or raises")

    async def _replace_connections(self, pool, asked_at):
        """A connection the server closed means it restarted and closed the others too. The
        pool would find them one by one, pausing between them: replace them all now, once per
        outage (a connection handed out after this was made after it)."""
        if asked_at > self.drained_at:
            self.drained_at = time.monotonic()
            await pool.drain()

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
                    kwargs=connection_options(),
                    timeout=settings.WEBHOOK_POOL_TIMEOUT,
                    # After a failed connection attempt the pool tries again after 1, 2, 4 …
                    # seconds, long after the database is back. It gives up after this
                    # instead, and the next statement that waits starts a new attempt at once.
                    reconnect_timeout=settings.WEBHOOK_POOL_TIMEOUT,
                )
                await pool.open()
                self.pool, self.pool_loop = pool, loop
        return self.pool

    async def close(self):
        if self.pool is not None:
            await self.pool.close()
            self.pool = None


def _answer(waiter, row=None, error=None):
    """Resolve a body's waiter, unless its request went away meanwhile."""
    if waiter.done():
        return
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(row)


def connection_options():
    """The pool's connections: autocommit, and behind PgBouncer in transaction mode no prepared
    statements (psycopg prepares a statement it ran 5 times, on that server connection only;
    the next transaction may get another)."""
    options = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    if settings.DATABASE_POOLER == "pgbouncer-transaction":
        options["prepare_threshold"] = None
    return options


def database_conninfo():
    """Django's default database as a libpq connection string (the test database in tests)."""
    from django.db import connections

    params = connections["default"].settings_dict
    return make_conninfo(
        dbname=params["NAME"],
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=str(params["PORT"]) if params["PORT"] else None,
    )


def for_this_process():
    """The pool on PostgreSQL; Django's connection on SQLite."""
    from django.db import connections

    return PooledDatabase() if connections["default"].vendor == "postgresql" else DjangoDatabase()
