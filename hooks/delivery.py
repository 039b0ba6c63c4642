"""Sending events: one job per endpoint at a time (`deliver_endpoint`, queue `hooks`) sends
the endpoint's due deliveries in batches, oldest first, up to OUTGOING_WEBHOOKS_CONCURRENCY
requests in flight over its keep-alive connections, for up to RUN_SECONDS, then hands over
to a new job. Endpoints never wait for each other: each has its own job and connections.

- `Endpoint.dispatch_at` is the time its job is due; the job carries that time as a token
  and does nothing when the endpoint's value has changed since (a newer job took over).
  `wake` (after an event commits) makes it due now unless a job is due or running already.
- A 2xx answer delivers. A failure that concerns the endpoint (no connection, timeout, 408,
  429, 5xx, an address that is not allowed) stops its batch and pauses the whole endpoint
  with exponential backoff and jitter (`retry_at`); another answer (4xx) retries that
  delivery alone, with the same backoff, while the rest flow. A delivery still failing at
  its `give_up_at` (OUTGOING_WEBHOOKS_RETRY_HOURS after it was created or redelivered) fails.
- An endpoint without a success for OUTGOING_WEBHOOKS_DISABLE_AFTER_DAYS, or after
  OUTGOING_WEBHOOKS_DISABLE_AFTER_FAILURES failed attempts in a row, is disabled, with an
  audit entry and a banner for its workspace's admins (`disable_failing`).
- While one batch's answers are recorded the next is already posting, so the requests in
  flight never drain between batches.
- Deliveries are leased while they are sent (LEASE): a worker that dies mid-send leaves them
  due again, so every event is delivered at least once. `sweep` (maintenance, every 30 s)
  gives up expired deliveries, restarts jobs a crash or a lost wake-up left missing, and
  deletes events (with their delivery logs) after KEEP_EVENTS."""

import collections
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone
from django_tasks import task

from tenants import audit
from tenants.models import AuditEvent

from . import transport
from .models import Delivery, Endpoint, Event
from .payload import headers, signers
from .subscriptions import forget_subscriptions

logger = logging.getLogger(__name__)

BATCH_MIN = 100
RUN_SECONDS = 20.0
LEASE = timedelta(minutes=2)
BACKOFF_FIRST_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 3600.0
# A job due this long ago that still holds its endpoint has died with its worker.
STUCK_AFTER = timedelta(minutes=5)
# Events and their delivery logs are kept this long once nothing is pending.
KEEP_EVENTS = timedelta(days=30)
PURGE_BATCH = 1000


def backoff(failures):
    """Seconds to wait after the n-th failure in a row: 5, 10, 20, … up to an hour, each
    between half and all of that (jitter, so endpoints that fail together retry apart)."""
    delay = min(BACKOFF_FIRST_SECONDS * 2 ** max(failures - 1, 0), BACKOFF_MAX_SECONDS)
    return delay / 2 + random.uniform(0, delay / 2)


def wake(endpoint_ids):
    """Make the endpoints' jobs due now, except where one is due or running already, or the
    endpoint is waiting out a failure (its job is due when the wait ends)."""
    if not endpoint_ids:
        return
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM stores it (SQLite: text)
    table = Endpoint._meta.db_table
    placeholders = ", ".join(["%s"] * len(endpoint_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET dispatch_at = %s
                WHERE id IN ({placeholders}) AND active
                  AND (dispatch_at IS NULL OR (dispatch_at > %s AND (retry_at IS NULL OR retry_at <= %s)))
                RETURNING id""",
            [at, *endpoint_ids, at, at],
        )
        woken = [row[0] for row in cursor.fetchall()]
    for endpoint_id in woken:
        deliver_endpoint.enqueue(endpoint_id, now.isoformat())


def _schedule(endpoint_id, token, when):
    """Hand the endpoint over from the job holding `token` to a new job due at `when`."""
    if Endpoint.objects.filter(pk=endpoint_id, dispatch_at=token).update(dispatch_at=when):
        job = deliver_endpoint if when <= timezone.now() else deliver_endpoint.using(run_after=when)
        job.enqueue(endpoint_id, when.isoformat())


@task(queue_name="hooks")
def deliver_endpoint(endpoint_id, token):
    token = datetime.fromisoformat(token)
    endpoint = Endpoint.objects.select_related("tenant").filter(pk=endpoint_id, dispatch_at=token).first()
    if endpoint is None:
        return 0  # a newer job took over, or the endpoint is gone
    sent = 0
    with ThreadPoolExecutor(settings.OUTGOING_WEBHOOKS_CONCURRENCY) as pool:
        sender = Sender(endpoint, pool)
        in_flight = collections.deque()  # two batches: the next is posting while one is recorded
        started = time.monotonic()
        while True:
            if sender.may_claim(started, len(in_flight)):
                # A failing endpoint gets one event (a probe), and the rest once it answers.
                batch = _claim(endpoint, 1 if endpoint.consecutive_failures else None)
                if batch:
                    in_flight.append((batch, sender.submit(batch)))
                    continue
            if not in_flight:
                break
            batch, futures = in_flight.popleft()
            sent += _record(endpoint, batch, [future.result() for future in futures])
    _finish(endpoint, token)
    return sent


class Sender:
    """Posts an endpoint's deliveries on a thread pool (OUTGOING_WEBHOOKS_CONCURRENCY requests
    at once, over the endpoint's keep-alive connections). After the first failure of the
    endpoint itself, requests not yet started are skipped (their outcome is None)."""

    def __init__(self, endpoint, pool):
        self.endpoint, self.pool = endpoint, pool
        self.client = transport.client_for(endpoint.pk, settings.OUTGOING_WEBHOOKS_CONCURRENCY)
        self.signing = signers(endpoint.signing_secrets())
        self.stop = threading.Event()

    def may_claim(self, started, batches_in_flight):
        endpoint = self.endpoint
        most = 1 if endpoint.consecutive_failures else 2  # a probe goes alone
        return (
            batches_in_flight < most
            and endpoint.active
            and not self.stop.is_set()
            and not _waiting(endpoint)
            and time.monotonic() - started < RUN_SECONDS
        )

    def submit(self, batch):
        return [self.pool.submit(self.post, delivery) for delivery in batch]

    def post(self, delivery):
        if self.stop.is_set():
            return None
        body = delivery.event.body()
        signed = headers(delivery.event.public_id, body, self.signing, timezone.now())
        sent = transport.post(self.client, self.endpoint.url, body, signed)
        if sent.endpoint_down:
            self.stop.set()
        return sent


def _waiting(endpoint):
    return endpoint.retry_at is not None and endpoint.retry_at > timezone.now()


def _due(endpoint_id, now):
    return Delivery.objects.filter(endpoint_id=endpoint_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now)


def _claim(endpoint, limit=None):
    """The next batch of due deliveries, oldest first, leased to this job."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            _due(endpoint.pk, now)
            .select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", flat=True)[: limit or max(BATCH_MIN, 4 * settings.OUTGOING_WEBHOOKS_CONCURRENCY)]
        )
        Delivery.objects.filter(id__in=ids).update(next_attempt_at=now + LEASE)
    return list(Delivery.objects.filter(id__in=ids).select_related("event").order_by("id"))


def _record(endpoint, batch, outcomes):
    now = timezone.now()
    attempted = [outcome for outcome in outcomes if outcome is not None]
    down = any(outcome.endpoint_down for outcome in attempted)
    failures = endpoint.consecutive_failures + 1
    retry_at = now + timedelta(seconds=backoff(failures)) if down else None
    for delivery, outcome in zip(batch, outcomes, strict=True):
        if outcome is None:
            delivery.next_attempt_at = now  # not tried: due as soon as the endpoint is
            continue
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.response_status, delivery.response_ms = outcome.status, outcome.elapsed_ms
        delivery.response_body, delivery.error = outcome.body, outcome.error
        if outcome.ok:
            delivery.status = Delivery.Status.SUCCEEDED
        elif now >= delivery.give_up_at:
            delivery.status = Delivery.Status.FAILED
        else:
            delivery.next_attempt_at = retry_at or now + timedelta(seconds=backoff(delivery.attempts))
    with transaction.atomic():
        _save_attempts(batch)
        _update_health(endpoint, attempted, down, retry_at, now)
    return sum(1 for outcome in attempted if outcome.ok)


ATTEMPT_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "last_attempt_at",
    "response_status",
    "response_ms",
    "response_body",
    "error",
]


def _save_attempts(batch):
    """Every delivery's outcome in one statement: on PostgreSQL an UPDATE … FROM (VALUES …)
    (bulk_update's CASE per field and row costs more than the requests); elsewhere bulk_update."""
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_update(batch, ATTEMPT_FIELDS)
        return
    table = Delivery._meta.db_table
    rows = ", ".join(
        ["(%s::bigint, %s, %s::integer, %s::timestamptz, %s::timestamptz, %s::integer, %s::integer, %s, %s)"]
        * len(batch)
    )
    params = []
    for delivery in batch:
        params += [delivery.pk, *(getattr(delivery, name) for name in ATTEMPT_FIELDS)]
    assignments = ", ".join(f"{name} = v.{name}" for name in ATTEMPT_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET {assignments} FROM (VALUES {rows}) AS v(id, {', '.join(ATTEMPT_FIELDS)}) "
            "WHERE d.id = v.id",
            params,
        )


def _update_health(endpoint, attempted, down, retry_at, now):
    if not attempted:
        return
    if attempted[-1].ok and not down:
        if endpoint.consecutive_failures or endpoint.failing_since or endpoint.retry_at:
            endpoint.consecutive_failures, endpoint.failing_since, endpoint.retry_at = 0, None, None
            _save_endpoint(endpoint, ["consecutive_failures", "failing_since", "retry_at"])
        return
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    endpoint.retry_at = retry_at
    if not _save_endpoint(endpoint, ["consecutive_failures", "failing_since", "retry_at"]):
        return  # deleted while its events were being sent
    limit = settings.OUTGOING_WEBHOOKS_DISABLE_AFTER_FAILURES
    days = settings.OUTGOING_WEBHOOKS_DISABLE_AFTER_DAYS
    if limit and endpoint.consecutive_failures >= limit:
        disable_failing(endpoint, f"{endpoint.consecutive_failures} failed attempts in a row")
    elif now - endpoint.failing_since >= timedelta(days=days):
        disable_failing(endpoint, f"no successful delivery for {days:g} days")


def _save_endpoint(endpoint, fields):
    """Save the job's fields of the endpoint (an admin may be editing others); 0 when it is gone."""
    return Endpoint.objects.filter(pk=endpoint.pk).update(**{name: getattr(endpoint, name) for name in fields})


def disable_failing(endpoint, why):
    """The system turns off an endpoint that keeps failing; its admins see a banner and an
    audit entry, and can turn it on again (actions.set_enabled)."""
    last = Delivery.objects.filter(endpoint=endpoint, attempts__gt=0).order_by("-last_attempt_at").first()
    answer = (f"HTTP {last.response_status}" if last.response_status else last.error) if last else ""
    endpoint.active, endpoint.disabled_at = False, timezone.now()
    endpoint.disabled_reason = f"Disabled after {why}" + (f" (last answer: {answer})" if answer else "") + "."
    endpoint.disabled_reason = endpoint.disabled_reason[:300]
    _save_endpoint(endpoint, ["active", "disabled_at", "disabled_reason"])
    audit.record(
        endpoint.tenant,
        AuditEvent.Action.WEBHOOK_ENDPOINT_AUTO_DISABLED,
        target=endpoint.url,
        details={"endpoint": endpoint.pk, "reason": endpoint.disabled_reason},
    )
    forget_subscriptions()
    logger.warning("Outgoing webhooks: endpoint %s of tenant %s disabled: %s", endpoint.pk, endpoint.tenant_id, why)


def _finish(endpoint, token):
    """Hand the endpoint to the next job: now (work left), later (retries), or none."""
    now = timezone.now()
    try:
        endpoint.refresh_from_db(fields=["active", "retry_at"])
    except Endpoint.DoesNotExist:
        return  # deleted meanwhile: nothing to hand over
    pending = Delivery.objects.filter(endpoint_id=endpoint.pk, status=Delivery.Status.PENDING)
    next_due = pending.aggregate(first=Min("next_attempt_at"))["first"] if endpoint.active else None
    if next_due is None:
        Endpoint.objects.filter(pk=endpoint.pk, dispatch_at=token).update(dispatch_at=None)
        return
    when = max(next_due, endpoint.retry_at or next_due, now)
    _schedule(endpoint.pk, token, when)


def sweep(now=None):
    """Every 30 s (whatsapp/maintenance.py): fail deliveries past their give-up time, and
    give a job to every active endpoint with due deliveries that has none (its wake-up was
    lost in a crash between commit and wake, or its job died with its worker)."""
    now = now or timezone.now()
    given_up = Delivery.objects.filter(status=Delivery.Status.PENDING, give_up_at__lte=now).update(
        status=Delivery.Status.FAILED, error="Given up: still failing after the retry period."
    )
    stranded = (
        Endpoint.objects.filter(active=True)
        .filter(Q(dispatch_at__isnull=True) | Q(dispatch_at__lt=now - STUCK_AFTER))
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .filter(deliveries__status=Delivery.Status.PENDING, deliveries__next_attempt_at__lte=now)
        .distinct()
        .values_list("pk", "dispatch_at")
    )
    restarted = 0
    for endpoint_id, dispatch_at in stranded:
        if Endpoint.objects.filter(pk=endpoint_id, dispatch_at=dispatch_at).update(dispatch_at=now):
            deliver_endpoint.enqueue(endpoint_id, now.isoformat())
            restarted += 1
    purge_old_events(now)
    if given_up or restarted:
        logger.info("Outgoing webhooks: %s deliveries given up, %s endpoints restarted", given_up, restarted)
    return restarted


def purge_old_events(now):
    """Delete up to PURGE_BATCH events older than KEEP_EVENTS with nothing pending, and their
    deliveries (the sweep runs every 30 s, so the backlog goes in bounded steps)."""
    old = (
        Event.objects.filter(created_at__lt=now - KEEP_EVENTS)
        .exclude(deliveries__status=Delivery.Status.PENDING)
        .values_list("pk", flat=True)[:PURGE_BATCH]
    )
    ids = list(old)
    if ids:
        Delivery.objects.filter(event_id__in=ids).delete()
        Event.objects.filter(pk__in=ids).delete()
    return len(ids)
