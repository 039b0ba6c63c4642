"""Writing events: the outbox. An event is a row written in the transaction of the change it
tells about, with a delivery row for each endpoint that takes it, so it is sent if and only if
the change commits, and never lost after. Whether anyone listens is asked of subscriptions.py
first, so a workspace without endpoints pays a set lookup per event."""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .delivery import wake
from .models import ConversationSequence, Delivery, Endpoint, Event
from .payload import bounded
from .subscriptions import subscribed


def emit(tenant_id, event_type, data, *, conversation_id=None):
    """One event; returns it, or None when no endpoint takes it."""
    events = emit_many(tenant_id, event_type, [(data, conversation_id)])
    return events[0] if events else None


def emit_many(tenant_id, event_type, items):
    """Events of one type, in the order given: `items` are (data, conversation_id) pairs.
    Writes nothing when no active endpoint of the tenant takes the type."""
    items = list(items)
    if not items or not subscribed(tenant_id, event_type):
        return []
    endpoints = Endpoint.objects.filter(tenant_id=tenant_id, active=True).values_list("pk", "event_types")
    endpoint_ids = [pk for pk, event_types in endpoints if event_type in event_types]
    if not endpoint_ids:
        return []
    return record(tenant_id, event_type, items, endpoint_ids)


def record(tenant_id, event_type, items, endpoint_ids):
    """Write the events and their deliveries to `endpoint_ids`, and wake their delivery jobs."""
    with transaction.atomic():
        sequences = _next_sequences([conversation_id for _, conversation_id in items])
        now = timezone.now()
        give_up_at = now + timedelta(hours=settings.OUTGOING_WEBHOOKS_RETRY_HOURS)
        events = Event.objects.bulk_create(
            Event(
                tenant_id=tenant_id,
                type=event_type,
                data=bounded(data),
                conversation_id=conversation_id,
                sequence=sequences[conversation_id].pop(0) if conversation_id else None,
                created_at=now,
            )
            for data, conversation_id in items
        )
        Delivery.objects.bulk_create(
            Delivery(endpoint_id=endpoint_id, event=event, next_attempt_at=now, give_up_at=give_up_at)
            for event in events
            for endpoint_id in endpoint_ids
        )
        # After commit, when the rows are visible to the job; a crash in between leaves them
        # to delivery.sweep, which finds due deliveries without a job.
        transaction.on_commit(lambda: wake(endpoint_ids))
    return events


def _next_sequences(conversation_ids):
    """For each conversation, the next sequence numbers in order (one per event): one
    statement, which also holds the counters' rows until the caller's transaction ends,
    so a conversation's events commit in the order of their numbers."""
    counts = Counter(conversation_id for conversation_id in conversation_ids if conversation_id)
    if not counts:
        return {}
    table = ConversationSequence._meta.db_table
    ids, increments = zip(*sorted(counts.items()), strict=True)  # sorted: locks taken in one order
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""INSERT INTO {table} (conversation_id, last)
                    SELECT * FROM unnest(%s::bigint[], %s::bigint[])
                    ON CONFLICT (conversation_id) DO UPDATE SET last = {table}.last + EXCLUDED.last
                    RETURNING conversation_id, last""",
                [list(ids), list(increments)],
            )
            lasts = dict(cursor.fetchall())
        else:
            lasts = {}
            for conversation_id, increment in counts.items():
                cursor.execute(
                    f"""INSERT INTO {table} (conversation_id, last) VALUES (%s, %s)
                        ON CONFLICT (conversation_id) DO UPDATE SET last = last + excluded.last
                        RETURNING last""",
                    [conversation_id, increment],
                )
                lasts[conversation_id] = cursor.fetchone()[0]
    return {cid: list(range(lasts[cid] - counts[cid] + 1, lasts[cid] + 1)) for cid in counts}
