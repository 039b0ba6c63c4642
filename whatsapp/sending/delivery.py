"""The life of an outbound message: queued, claimed by one worker, sent once, then moved
forward by Meta's status webhooks. Every state change goes through a function here and
publishes its own event.

The rules that keep a message from being lost or sent twice:
- a message is sent only by the worker that moved it from queued to sending (row lock);
- a send whose outcome is unknown is never retried by the system: status webhooks, which
  carry our message id as biz_opaque_callback_data, settle it, or a person resends it;
- messages to one conversation leave in the order they were written: a message waits while
  an earlier one is queued or sending, and each message hands over to the next when done;
- while Meta refuses the token, the tenant's messages wait, and go when it is replaced.
"""

import functools
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.formats import time_format
from django_tasks import task

from inbox.lengths import fit
from whatsapp import hook_events
from whatsapp.cloud import api as cloud_api
from whatsapp.cloud import throttle
from whatsapp.contacts import consent
from whatsapp.jobs import alarm, batches
from whatsapp.media import actions as media_actions
from whatsapp.models import STATUS_RANK, Connection, Message, MessageStatus, StatusUpdate
from whatsapp.realtime import events as realtime

logger = logging.getLogger(__name__)

OPEN_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING)
# A send still "sending" after this long has lost its worker: its outcome is unknown.
STUCK_AFTER = timedelta(minutes=2)
MARKETING_STOPPED = 131050  # the customer stopped marketing messages (META_FACTS.md section 6)


def _enqueue(message_id, run_after=None, place=None):
    """A send job; `place` is the time (time.time()) of the place in its number's throughput
    booked for it (throttle.book), when it has one."""
    from whatsapp.sending.delivery import send_message

    task = send_message.using(run_after=run_after) if run_after else send_message
    task.enqueue(message_id, place) if place else task.enqueue(message_id)


def queue(message):
    """A new outbound message and its send job, in the caller's transaction."""
    _enqueue(message.pk)


def queue_new(conversation, author, **fields):
    """Write a member's outbound message (type, text and content in `fields`) and queue it,
    in the caller's transaction: the job is a row there too, so both commit or neither."""
    message = Message.objects.create(
        tenant=conversation.tenant,
        conversation=conversation,
        direction=Message.Direction.OUT,
        status=MessageStatus.QUEUED,
        author=author,
        timestamp=timezone.now(),
        **fields,
    )
    queue(message)
    return message


def _claimable(message_ids):
    """The messages, of those named, that are queued and have no earlier message of their
    conversation open, with what sending them needs (their workspace's connection: see
    _with_connections), locked. Their authors load if a failure shows them."""
    messages = list(
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation__contact", "conversation__phone_number")
        .filter(pk__in=message_ids, status=MessageStatus.QUEUED, direction=Message.Direction.OUT)
        .exclude(Exists(_earlier_open()))  # the earlier message hands over when it is done
        .order_by("pk")
    )
    return _with_connections(messages)


def _with_connections(messages):
    """Each message's tenant and connection, read once per workspace of the batch: read with
    each message, a batch of 50 built 50 of each and decrypted 150 secrets."""
    tenant_ids = {message.tenant_id for message in messages}
    connections = {
        connection.tenant_id: connection
        for connection in Connection.objects.select_related("tenant").filter(tenant_id__in=tenant_ids)
    }
    for message in messages:
        if message.tenant_id in connections:  # else reading message.tenant.whatsapp raises, as it should
            message.tenant = connections[message.tenant_id].tenant
    return messages


def claim(message_id):
    """Move a queued message to sending, so that no other worker sends it too. Returns the
    message, or None when it is not this job's turn (sent already, paused, backing off,
    waiting behind an earlier message of its conversation, or waiting for its place in its
    number's throughput: then it goes as a job at that place)."""
    claimed = claim_batch([(message_id, None)])
    return claimed[0] if claimed else None


def claim_batch(jobs):
    """claim() for many send jobs ((message id, booked place or None) pairs), with one locked
    read and one update: the messages moved to sending, each sent by whoever claimed it, once."""
    places = {}
    for message_id, place in jobs:
        places[message_id] = places.get(message_id) or _place_of(place)
    now = timezone.now()
    with transaction.atomic():
        ready = [
            message
            for message in _claimable(list(places))
            if not message.tenant.whatsapp.sending_paused
            # A duplicate job that came before the backoff ended waits for its own.
            and not (message.next_attempt_at and message.next_attempt_at > now)
        ]
        claimed = _within_throughput(ready, places)
        if claimed:
            Message.objects.filter(pk__in=[message.pk for message in claimed]).update(
                status=MessageStatus.SENDING,
                status_changed_at=now,
                send_attempts=F("send_attempts") + 1,
                waiting_reason="",
            )
        for message in claimed:
            message.status, message.status_changed_at = MessageStatus.SENDING, now
            message.send_attempts += 1
            message.waiting_reason = ""
    return claimed


def _place_of(place):
    # A job's place is a number; anything else (none, or a job from before places were
    # times) books a place again.
    return float(place) if isinstance(place, int | float) and not isinstance(place, bool) else None


def _within_throughput(messages, places):
    """The messages that may go now by their number's throughput (whatsapp/cloud/throttle.py,
    counted in Redis for every worker): those whose booked place has come, and those booked a
    place now. The others stay queued, each with a job at its place, in this transaction:
    none waits in a sleeping thread, and a busy number's sends spread over each second."""
    now = time.time()
    allowed, unbooked, waiting = [], {}, []
    for message in messages:
        place = places.get(message.pk)
        if place and place > now:  # woken before its place: wait for it
            waiting.append((message.pk, place))
        elif place:
            allowed.append(message)
        else:
            unbooked.setdefault(message.conversation.phone_number, []).append(message)
    for number, unplaced in unbooked.items():
        booked = throttle.book(number.phone_number_id, number.messages_per_second, [m.pk for m in unplaced], now)
        for message, place in zip(unplaced, booked, strict=True):
            if place is None:
                allowed.append(message)
            else:
                waiting.append((message.pk, place))
    _wait_for_places(waiting)
    return sorted(allowed, key=lambda message: message.pk)


def _wait_for_places(waiting):
    """A job at each message's place ((message id, place) pairs), all made by one statement;
    this process's worker wakes for each place then (not at its next poll, which would send
    a second's places together). Past the booking horizon, a job that books again then."""
    for message_id, _place in [pair for pair in waiting if pair[1] == math.inf]:
        _enqueue(message_id, run_after=timezone.now() + timedelta(seconds=throttle.HORIZON_SECONDS))
    booked = [pair for pair in waiting if pair[1] != math.inf]
    if not booked:
        return
    if connection.vendor == "postgresql":
        parameters = {"ids": [m for m, _ in booked], "places": [p for _, p in booked], **_place_job_params()}
        with connection.cursor() as cursor:
            cursor.execute(_place_jobs_sql(), parameters)
    else:
        for message_id, place in booked:
            _enqueue(message_id, run_after=datetime.fromtimestamp(place, tz=UTC), place=place)
    for place in sorted({place for _, place in booked}):
        transaction.on_commit(functools.partial(alarm.ring_at, place))


@functools.cache
def _place_jobs_sql():
    """Send jobs at the named messages' places, as _enqueue makes them (no notification: the
    alarm wakes the worker at each place)."""
    enqueue = send_message.get_backend().enqueue_each_sql(
        "waiting", "jsonb_build_array(id, place)", run_after="to_timestamp(place)"
    )
    return f"""
        WITH waiting(id, place) AS (SELECT * FROM unnest(%(ids)s::bigint[], %(places)s::float8[])),
        {enqueue}
        SELECT count(*) FROM notified
    """


@functools.cache
def _place_job_params():
    return send_message.get_backend().enqueue_params(send_message, notify=False)


@dataclass
class _Later:
    """A claimed send that may not leave yet, and its fresh place."""

    place: float


def _not_yet(message):
    """None when the message may leave now (it counts as left: throttle.depart), else a
    _Later with a fresh place. Called just before the request leaves (a file's, after its
    upload), so that what reaches Meta in any second stays under the number's setting however
    late the claim, its commit or the thread was."""
    return _departing([message])[1].get(message.pk)


def _departing(messages):
    """The messages that may leave now, each counted as left (throttle.depart: one call per
    number), and {message id: _Later with a fresh place} for the others. Called just before
    the messages go to the sending threads, which send them within a few milliseconds."""
    by_number = {}
    for message in messages:
        by_number.setdefault(message.conversation.phone_number, []).append(message)
    later = {}
    for number, leaving in by_number.items():
        places = throttle.depart(number.phone_number_id, number.messages_per_second, [m.pk for m in leaving])
        later.update((m.pk, _Later(place)) for m, place in zip(leaving, places, strict=True) if place is not None)
    return [message for message in messages if message.pk not in later], later


def _wait_again(later):
    """Claimed messages that did not leave go back to the queue, each with a job at its
    fresh place (their claim is undone: it did not count as an attempt)."""
    if not later:
        return
    with transaction.atomic():
        Message.objects.filter(pk__in=[message.pk for message, _ in later], status=MessageStatus.SENDING).update(
            status=MessageStatus.QUEUED, send_attempts=F("send_attempts") - 1
        )
        _wait_for_places([(message.pk, outcome.place) for message, outcome in later])


def _earlier_open():
    """The outer message's conversation's earlier messages of ours that are not done yet."""
    return Message.objects.filter(
        conversation_id=OuterRef("conversation_id"),
        direction=Message.Direction.OUT,
        status__in=OPEN_STATUSES,
        pk__lt=OuterRef("pk"),
    )


def _hand_over(message):
    """After a message is done, the next queued one of its conversation may go."""
    following = (
        Message.objects.filter(
            conversation_id=message.conversation_id,
            direction=Message.Direction.OUT,
            status=MessageStatus.QUEUED,
            pk__gt=message.pk,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following:
        _enqueue(following)  # a row in this transaction: the hand-over cannot be lost


def _save(message, fields):
    message.save(update_fields=fields)
    realtime.message_changed(message)


def mark_sent(message, wamid):
    """Meta accepted the message: keep its wamid, then apply any status that came first.
    `message` is the one claim() returned."""
    now = timezone.now()
    with transaction.atomic():
        # Usually nothing touched the row since the claim, so the claimed copy is current.
        untouched = Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING, wamid__isnull=True)
        if untouched.update(wamid=wamid, status=MessageStatus.SENT, status_changed_at=now):
            message.wamid, message.status, message.status_changed_at = wamid, MessageStatus.SENT, now
            hook_events.message_status_changed(message)
            realtime.message_changed(message)
        else:
            # A status webhook (by our tracker) or the maintenance job came first: start from the row.
            message = Message.objects.select_for_update().get(pk=message.pk)
            message.wamid, message.status, message.status_changed_at = wamid, MessageStatus.SENT, now
            _save(message, ["wamid", "status", "status_changed_at"])
            hook_events.message_status_changed(message)
        apply_statuses(message.tenant, wamid, locked=message)
        _hand_over(message)


def mark_failed(message, error):
    """A permanent failure, or one whose outcome is unknown: never retried by the system."""
    with transaction.atomic():
        message.status = MessageStatus.FAILED
        message.outcome_unknown = error.outcome_unknown
        message.error_code = error.code
        message.error_title = fit(Message, "error_title", error.message)
        message.error_detail = error.for_agent
        message.status_changed_at = timezone.now()
        _save(message, ["status", "outcome_unknown", "error_code", "error_title", "error_detail", "status_changed_at"])
        if error.code == MARKETING_STOPPED:
            # Meta knows the customer stopped marketing messages before we do: remember it.
            consent.record_opt_out(message.conversation.contact, "WhatsApp refused a marketing message (131050)")
        hook_events.message_status_changed(message)
        _hand_over(message)


def retry_later(message, error, delay_seconds):
    """Put a message back in the queue, waiting, with a job to try it again after the delay."""
    run_after = timezone.now() + timedelta(seconds=delay_seconds)
    with transaction.atomic():
        message.status = MessageStatus.QUEUED
        message.next_attempt_at = run_after
        message.waiting_reason = fit(
            Message,
            "waiting_reason",
            f"Waiting to send: {error.for_agent if error.code else 'WhatsApp is unreachable.'} "
            f"Next try at {time_format(timezone.localtime(run_after), 'H:i:s')}.",
        )
        _save(message, ["status", "next_attempt_at", "waiting_reason"])
        _enqueue(message.pk, run_after=run_after)


def pause_sending(message, error):
    """Meta refused the token: the tenant's messages wait until an owner replaces it."""
    with transaction.atomic():
        reason = fit(
            Connection, "sending_paused_reason", f"WhatsApp refused the access token ({error.code}): {error.message}"
        )
        Connection.objects.filter(tenant_id=message.tenant_id).update(sending_paused_reason=reason)
        message.status = MessageStatus.QUEUED
        message.waiting_reason = "Waiting to send: sending is paused until an owner replaces the access token."
        _save(message, ["status", "waiting_reason"])
    logger.warning("Sending paused for tenant %s: %s", message.tenant_id, reason)


def resume_sending(connection):
    """The token was replaced: send what waited, the oldest of each conversation first
    (each hands over to the next)."""
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(sending_paused_reason="")
        connection.sending_paused_reason = ""
        for message in _first_queued_per_conversation(connection.tenant_id):
            _enqueue(message.pk)


def token_replaced(connection):
    """A new access token was saved: if sending was paused for the old one, resume."""
    if Connection.objects.filter(pk=connection.pk).exclude(sending_paused_reason="").exists():
        resume_sending(connection)


def _first_queued_per_conversation(tenant_id):
    seen, heads = set(), []
    queued = Message.objects.filter(tenant_id=tenant_id, direction=Message.Direction.OUT, status=MessageStatus.QUEUED)
    for message in queued.order_by("conversation_id", "pk").only("pk", "conversation_id"):
        if message.conversation_id not in seen:
            seen.add(message.conversation_id)
            heads.append(message)
    return heads


def resend(message):
    """A person asked to send a failed message again."""
    if message.direction != Message.Direction.OUT or message.status != MessageStatus.FAILED:
        raise ValueError("Only a failed message of ours can be sent again.")
    with transaction.atomic():
        message.status = MessageStatus.QUEUED
        message.outcome_unknown = False
        message.error_code, message.error_title, message.error_detail = None, "", ""
        message.wamid, message.next_attempt_at, message.waiting_reason = None, None, ""
        _save(
            message,
            [
                "status",
                "outcome_unknown",
                "error_code",
                "error_title",
                "error_detail",
                "wamid",
                "next_attempt_at",
                "waiting_reason",
            ],
        )
        queue(message)


def give_up_on_stuck_sends(now=None):
    """Sends whose worker died mid-call: their outcome is unknown. They are never re-sent
    blindly; a status webhook carrying their id will still settle them."""
    stuck = Message.objects.filter(
        direction=Message.Direction.OUT,
        status=MessageStatus.SENDING,
        wamid__isnull=True,
        status_changed_at__lt=(now or timezone.now()) - STUCK_AFTER,  # set when claimed
    )
    error = cloud_api.CloudAPIError(code=0, message="The worker stopped during the send.", outcome_unknown=True)
    count = 0
    for message in stuck.select_related("tenant"):
        mark_failed(message, error)
        count += 1
    return count


def requeue_forgotten(now=None):
    """Queued messages whose job is overdue (a lost job, a resumed tenant): enqueue again.
    A duplicate job is harmless: only one claim succeeds."""
    overdue = (now or timezone.now()) - timedelta(minutes=1)
    messages = (
        Message.objects.filter(
            direction=Message.Direction.OUT,
            status=MessageStatus.QUEUED,
            tenant__whatsapp__sending_paused_reason="",
        )
        .exclude(next_attempt_at__gt=overdue)
        .filter(created_at__lt=overdue)
    )
    ids = list(messages.values_list("pk", flat=True)[:1000])
    for message_id in ids:
        _enqueue(message_id)
    return len(ids)


# --- Statuses from Meta ------------------------------------------------------------------


@dataclass
class ReportedStatus:
    """One entry of a webhook's statuses[]."""

    wamid: str
    status: str
    timestamp: datetime
    recipient: str = ""
    error_code: int | None = None
    error_title: str = ""
    error_detail: str = ""
    pricing_category: str = ""
    tracker: str = ""


def record_status(tenant, reported):
    """Keep a status Meta reported (once), then move its message forward if we have it.
    Returns the message, if it is stored; None for a status held already."""
    with transaction.atomic():
        update = StatusUpdate(
            tenant=tenant,
            wamid=reported.wamid,
            status=reported.status,
            timestamp=reported.timestamp,
            recipient=reported.recipient,
            error_code=reported.error_code,
            error_title=fit(StatusUpdate, "error_title", reported.error_title),
            error_detail=reported.error_detail,
            pricing_category=reported.pricing_category,
            tracker=fit(StatusUpdate, "tracker", reported.tracker),
        )
        try:
            with transaction.atomic():
                update.save()
        except IntegrityError:
            return None  # a duplicate delivery of a status we hold
        return apply_statuses(tenant, reported.wamid)


# --- A batch of statuses: a few statements whatever its size ------------------------------

_RANK_SQL = "CASE {column} " + " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in STATUS_RANK.items())
_RANK_SQL += f" WHEN 'played' THEN {STATUS_RANK[MessageStatus.READ]} ELSE -1 END"

HOLD_STATUSES_SQL = """
    INSERT INTO whatsapp_statusupdate
        (tenant_id, wamid, status, timestamp, recipient, error_code, error_title, error_detail, pricing_category,
         tracker, received_at)
    SELECT *, now() FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::int[],
                               %s::text[], %s::text[], %s::text[], %s::text[])
    ON CONFLICT (tenant_id, wamid, status) DO NOTHING
    RETURNING tenant_id, wamid
"""

# Each named message moves to the furthest status held for it, when that is a tick further
# than where it is: one statement for the batch. PostgreSQL checks the WHERE again on a row
# another transaction changed meanwhile, so a message never moves back, whoever commits
# first. What else a status can do (fail a message, settle an unknown send, find a message by
# its tracker, hand a conversation over) goes through apply_statuses.
# Planned from statistics older than a burst (a young table, a new workspace's campaign), a
# join of the named messages to the held statuses and to the messages read every held status
# and, per status, every message of the workspace (message_tenant_time): 160 ms a batch of
# 100 webhooks with 2,000 messages stored. So each named message's statuses are looked up
# through their unique key, one LATERAL look-up each (ordered as that index is, which no other
# index serves as cheaply), and the messages are read once for the whole batch (MATERIALIZED:
# through their unique key, or at worst the batch's workspaces' rows once, never per status).
MOVE_FORWARD_SQL = f"""
    WITH named(tenant_id, wamid) AS (SELECT DISTINCT * FROM unnest(%s::bigint[], %s::text[])),
    best AS (
        SELECT DISTINCT ON (named.tenant_id, named.wamid) named.tenant_id, named.wamid, held.timestamp,
               CASE held.status WHEN 'played' THEN 'read' ELSE held.status END AS status,
               {_RANK_SQL.format(column="held.status")} AS rank
        FROM named CROSS JOIN LATERAL (
            SELECT status, timestamp FROM whatsapp_statusupdate held
            WHERE held.tenant_id = named.tenant_id AND held.wamid = named.wamid
            ORDER BY held.wamid, held.status
        ) held
        ORDER BY named.tenant_id, named.wamid, rank DESC
    ),
    stored AS MATERIALIZED (
        SELECT id, tenant_id, wamid FROM whatsapp_message
        WHERE tenant_id = ANY(%s::bigint[]) AND wamid = ANY(%s::text[])
    ),
    found AS (
        SELECT stored.id, best.status, best.timestamp, best.rank
        FROM best JOIN stored ON stored.tenant_id = best.tenant_id AND stored.wamid = best.wamid
        WHERE best.status IN ('sent', 'delivered', 'read')
    )
    UPDATE whatsapp_message message SET status = found.status, status_changed_at = found.timestamp
    FROM found
    WHERE message.id = found.id
      AND message.status IN ('sent', 'delivered', 'read')
      AND NOT message.outcome_unknown AND found.rank > {_RANK_SQL.format(column="message.status")}
    RETURNING message.id, message.tenant_id, message.conversation_id, message.direction, message.type,
              message.wamid, message.status, message.status_changed_at
"""
# In the model's field order: Model.from_db takes a partial row's values in that order,
# whatever the order of the names it is given.
_MOVED_FIELDS = ["id", "tenant_id", "conversation_id", "direction", "type", "wamid", "status", "status_changed_at"]


def apply_status_batch(reports):
    """Keep the statuses Meta reported (`reports`: (tenant, ReportedStatus) pairs; each kept
    once), move their messages forward, and publish one live event per conversation. Returns
    the messages whose status changed. Safe to call again with the same statuses, in any
    order of arrival: what record_status does for one status, for many with a few statements."""
    if not reports:
        return []
    if connection.vendor != "postgresql":
        return _record_one_by_one(reports)
    tenants = {tenant.pk: tenant for tenant, _reported in reports}
    with transaction.atomic():
        held = _hold_statuses(reports)
        if not held:
            return []
        moved = _move_forward(held)
        moved_keys = {(message.tenant_id, message.wamid) for message in moved}
        others = _apply_one_by_one(tenants, [key for key in held if key not in moved_keys], reports)
        realtime.statuses_changed(moved)
        hook_events.messages_status_changed(moved)  # apply_statuses told of the others
    return moved + others


def _record_one_by_one(reports):
    """SQLite (the embedded demo) has no arrays to unnest: one status at a time."""
    changed = []
    for tenant, reported in reports:
        before = Message.objects.filter(tenant=tenant, wamid=reported.wamid).values_list("status", flat=True).first()
        message = record_status(tenant, reported)
        if message is not None and message.status != before:
            changed.append(message)
    return changed


def _hold_statuses(reports):
    """Insert the statuses not held yet; the (tenant id, wamid) of those that were new."""
    columns = [[] for _ in range(10)]
    seen = set()
    for tenant, reported in reports:
        if (tenant.pk, reported.wamid, reported.status) in seen:
            continue
        seen.add((tenant.pk, reported.wamid, reported.status))
        row = (
            tenant.pk,
            reported.wamid,
            reported.status,
            reported.timestamp,
            reported.recipient,
            reported.error_code,
            reported.error_title[:255],
            reported.error_detail,
            reported.pricing_category,
            reported.tracker[:512],
        )
        for column, value in zip(columns, row):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(HOLD_STATUSES_SQL, columns)
        return list(dict.fromkeys(cursor.fetchall()))


def _move_forward(held):
    with connection.cursor() as cursor:
        named = [[tenant_id for tenant_id, _ in held], [wamid for _, wamid in held]]
        cursor.execute(MOVE_FORWARD_SQL, [*named, *named])
        rows = cursor.fetchall()
    return [Message.from_db(connection.alias, _MOVED_FIELDS, row) for row in rows]


def _apply_one_by_one(tenants, keys, reports):
    """The new statuses the batch statement left: those that may do more than move a tick
    (see MOVE_FORWARD_SQL) go through apply_statuses; the rest changed nothing (a tick that
    came late, a status whose message is not stored yet and names no message of ours)."""
    if not keys:
        return []
    reported = {}
    for tenant, status in reports:
        reported.setdefault((tenant.pk, status.wamid), []).append(status)
    stored = {
        (tenant_id, wamid): (status, outcome_unknown)
        for tenant_id, wamid, status, outcome_unknown in Message.objects.filter(
            tenant_id__in={tenant_id for tenant_id, _ in keys}, wamid__in={wamid for _, wamid in keys}
        ).values_list("tenant_id", "wamid", "status", "outcome_unknown")
    }
    changed = []
    for key in keys:
        if not _needs_more_than_a_tick(stored.get(key), reported.get(key, [])):
            continue
        status_before = stored.get(key, (None,))[0]
        message = apply_statuses(tenants[key[0]], key[1])
        if message is not None and message.status != status_before:
            changed.append(message)
    return changed


def _needs_more_than_a_tick(stored, statuses):
    if stored is None:  # not stored under this wamid: perhaps a send whose answer was lost
        return any(cloud_api.message_id_from_tracker(status.tracker) for status in statuses)
    message_status, outcome_unknown = stored
    if outcome_unknown or message_status in OPEN_STATUSES:
        return True
    return message_status != MessageStatus.FAILED and any(status.status == MessageStatus.FAILED for status in statuses)


def _effective_rank(status):
    # "played" (a voice note was listened to) implies read.
    return STATUS_RANK.get("read" if status == "played" else status, -1)


def _message_for(tenant, wamid, reported):
    """The message a wamid names; or, when we never stored that wamid (the send's answer was
    lost), the message the statuses' tracker names."""
    message = Message.objects.select_for_update().filter(tenant=tenant, wamid=wamid).first()
    if message is not None:
        return message
    for update in reported:
        message_id = cloud_api.message_id_from_tracker(update.tracker)
        if message_id is None:
            continue
        message = (
            Message.objects.select_for_update()
            .filter(tenant=tenant, pk=message_id, direction=Message.Direction.OUT, wamid__isnull=True)
            .first()
        )
        if message is not None:
            message.wamid = wamid
            message.save(update_fields=["wamid"])
            return message
    return None


def apply_statuses(tenant, wamid, locked=None):
    """Set the message's status to the furthest one Meta reported. Never moves backwards;
    failed is final, except for a send we gave up on as unknown, which Meta's word settles.
    Safe to call any number of times, in any order. `locked` is the message, when the caller
    already holds its row lock and its wamid."""
    reported = list(StatusUpdate.objects.filter(tenant=tenant, wamid=wamid))
    message = locked if locked is not None else _message_for(tenant, wamid, reported)
    if message is None or not reported:
        return message  # the status waits until the message appears
    best = max(reported, key=lambda update: _effective_rank(update.status))
    new_status = "read" if best.status == "played" else best.status
    if message.outcome_unknown and new_status != MessageStatus.FAILED:
        _settle_unknown(message, new_status, best)
    elif message.status != MessageStatus.FAILED and _effective_rank(new_status) > STATUS_RANK[message.status]:
        was_sending = message.status == MessageStatus.SENDING
        if new_status == MessageStatus.FAILED:
            _fail_from_webhook(message, best)
        else:
            message.status, message.status_changed_at = new_status, best.timestamp
            _save(message, ["status", "status_changed_at"])
            hook_events.message_status_changed(message)
        if was_sending and message.status != MessageStatus.QUEUED:
            # Its worker died after Meta took it, so mark_sent never ran: hand over here.
            _hand_over(message)
    return message


def _settle_unknown(message, new_status, best):
    message.status, message.status_changed_at, message.outcome_unknown = new_status, best.timestamp, False
    message.error_code, message.error_title, message.error_detail = None, "", ""
    _save(message, ["status", "status_changed_at", "outcome_unknown", "error_code", "error_title", "error_detail"])
    hook_events.message_status_changed(message)


def _fail_from_webhook(message, best):
    """Meta reported a failure after accepting the message: a retryable one is sent again
    (Meta said it did not go), a permanent one fails with a reason."""
    error = cloud_api.CloudAPIError(best.error_code or 0, best.error_title, best.error_detail)
    delay = error.retry_delay(message.send_attempts) if message.direction == Message.Direction.OUT else None
    if delay is not None:
        message.content = {
            **message.content,
            "failed_wamids": [*message.content.get("failed_wamids", []), message.wamid],
        }
        message.wamid = None
        message.save(update_fields=["content", "wamid"])
        retry_later(message, error, delay)
        return
    message.status, message.status_changed_at = MessageStatus.FAILED, best.timestamp
    message.error_code, message.error_title = best.error_code, best.error_title
    message.error_detail = error.for_agent
    _save(message, ["status", "status_changed_at", "error_code", "error_title", "error_detail"])
    hook_events.message_status_changed(message)


# How many send jobs a worker thread runs together: their messages are claimed with one
# locked read, sent side by side (cloud_api.send_messages), and settled in a few statements.
SEND_BATCH_SIZE = 50
# The group send jobs take turns by in a batch: the message's workspace.
TENANT_OF_MESSAGE_SQL = "SELECT tenant_id FROM whatsapp_message WHERE id = (args_kwargs->'args'->>0)::bigint"


@task()
def send_message(message_id, place=None):
    """Send one queued message (at its booked `place` in its number's throughput, if it has
    one). A message that is not queued any more, or not its turn, is left alone, so running
    this twice never sends twice."""
    send_batch([(message_id, place)])


def send_batch(jobs):
    """Send the queued messages these jobs ((message id, place) pairs) name, those whose turn
    it is: claimed together, counted as leaving together (one throttle call per number), sent
    side by side, settled together (files one at a time, in this thread: their upload ids are
    in the database)."""
    claimed = claim_batch(jobs)
    leaving, later = _departing([message for message in claimed if cloud_api.sends_without_database(message)])
    outcomes = cloud_api.send_messages(leaving) if leaving else []
    outcomes += [(message, later[message.pk]) for message in claimed if message.pk in later]
    for message in claimed:
        if not cloud_api.sends_without_database(message):
            outcomes.append((message, _send_one(message)))
    mark_sent_batch([(message, wamid) for message, wamid in outcomes if not isinstance(wamid, _NOT_SENT)])
    _wait_again([(message, outcome) for message, outcome in outcomes if isinstance(outcome, _Later)])
    for message, error in outcomes:
        if isinstance(error, cloud_api.CloudAPIError):
            _handle_send_error(message, error)


_NOT_SENT = (cloud_api.CloudAPIError, _Later)


def _send_one(message):
    try:
        return cloud_api.send_message(message, media_ids=media_actions, unless=_not_yet)
    except cloud_api.CloudAPIError as error:
        return error


def _send_jobs(arguments):
    send_batch([(message_id, rest[0] if rest else None) for message_id, *rest in arguments])


batches.run_in_batches(send_message, _send_jobs, SEND_BATCH_SIZE, TENANT_OF_MESSAGE_SQL)


MARK_SENT_SQL = """
    UPDATE whatsapp_message message SET wamid = answered.wamid, status = 'sent', status_changed_at = %s
    FROM unnest(%s::bigint[], %s::text[]) AS answered(id, wamid)
    WHERE message.id = answered.id AND message.status = 'sending' AND message.wamid IS NULL
    RETURNING message.id
"""


def mark_sent_batch(sent):
    """mark_sent for many (message, wamid) pairs: one update of the rows nothing touched since
    their claim, one look for statuses that came first, one for each conversation's next
    message; a row something else touched (a status webhook by our tracker, maintenance)
    goes through mark_sent."""
    if not sent:
        return
    if connection.vendor != "postgresql":
        for message, wamid in sent:
            mark_sent(message, wamid)
        return
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(MARK_SENT_SQL, [now, [m.pk for m, _ in sent], [wamid for _, wamid in sent]])
            untouched = {row[0] for row in cursor.fetchall()}
        done = []
        for message, wamid in sent:
            if message.pk not in untouched:
                mark_sent(message, wamid)
                continue
            message.wamid, message.status, message.status_changed_at = wamid, MessageStatus.SENT, now
            done.append(message)
        realtime.statuses_changed(done)  # its ticks and its wamid: the rest of its HTML is as queued
        early = set(
            StatusUpdate.objects.filter(
                tenant_id__in={m.tenant_id for m in done}, wamid__in=[m.wamid for m in done]
            ).values_list("tenant_id", "wamid")
        )
        hook_events.messages_status_changed(done)
        for message in done:
            if (message.tenant_id, message.wamid) in early:
                apply_statuses(message.tenant, message.wamid, locked=message)
        _hand_over_batch(done)


def _hand_over_batch(messages):
    """_hand_over for many done messages: each conversation's next queued message may go, its
    job enqueued in this transaction by one statement (_hand_over_sql)."""
    done = {message.conversation_id: message.pk for message in messages}
    if not done:
        return
    parameters = {"conversations": list(done), "done": list(done.values()), **_send_job_params()}
    with connection.cursor() as cursor:
        cursor.execute(_hand_over_sql(), parameters)


@functools.cache
def _hand_over_sql():
    """Each named conversation's first queued message of ours after the one done, and its
    send job (with the notification that wakes a worker), as _enqueue makes it."""
    enqueue = send_message.get_backend().enqueue_each_sql("following", "jsonb_build_array(id)")
    return f"""
        WITH done(conversation_id, id) AS (SELECT * FROM unnest(%(conversations)s::bigint[], %(done)s::bigint[])),
        following AS (
            SELECT DISTINCT ON (message.conversation_id) message.id
            FROM whatsapp_message message JOIN done ON done.conversation_id = message.conversation_id
            WHERE message.direction = 'out' AND message.status = 'queued' AND message.id > done.id
            ORDER BY message.conversation_id, message.id
        ), {enqueue}
        SELECT count(*) FROM notified
    """


@functools.cache
def _send_job_params():
    return send_message.get_backend().enqueue_params(send_message)


def _handle_send_error(message, error):
    if error.is_token_problem:
        pause_sending(message, error)
    elif (delay := error.retry_delay(message.send_attempts)) is not None:
        logger.warning("Send of message %s failed (%s); retrying in %s s", message.pk, error, delay)
        retry_later(message, error, delay)
    else:
        logger.warning("Send of message %s failed for good: %s", message.pk, error)
        mark_failed(message, error)
