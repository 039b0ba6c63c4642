"""(c) Data at scale, fast: 3 tenants, 100k contacts and conversations, 2M messages (one
thread of 10k), 1M webhook events and 200k Graph API calls at scale 1.0, written with
PostgreSQL's COPY into the real tables (constraints and indexes in place).

    python -m bench.seed --scale 0.05     (inside bench/run's environment)
"""

import random
import time
from datetime import timedelta

from django.db import connection
from django.db.models import NOT_PROVIDED, BooleanField, DateTimeField, IntegerField, JSONField
from django.utils import timezone
from psycopg.types.json import Jsonb

from bench.setup import make_tenant

TENANTS = [("seed-big", "900000011", 0.6), ("seed-mid", "900000012", 0.3), ("seed-small", "900000013", 0.1)]
BIG_THREAD = 10_000


def _defaults(model):
    """Column names (no id) and a value for each that the table needs when not given."""
    now = timezone.now()
    columns, values = [], {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.default is not NOT_PROVIDED:
            value = field.get_default()
        elif field.null:
            value = None
        elif isinstance(field, DateTimeField):
            value = now
        elif isinstance(field, BooleanField):
            value = False
        elif isinstance(field, IntegerField):
            value = 0
        else:
            value = ""
        values[field.column] = Jsonb(value) if isinstance(field, JSONField) else value
    return columns, values


def copy_rows(model, rows):
    """COPY dicts of {column: value} into the model's table; other columns take defaults."""
    columns, defaults = _defaults(model)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row.get(column, defaults[column]) for column in columns])
                count += 1
    return count


def _ids(model, tenant):
    return list(model.objects.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True))


def seed_tenant(tenant, share, scale, rng, big_thread):
    from whatsapp.models import Contact, Conversation, GraphCall, Message, PhoneNumber, WebhookEvent

    now = timezone.now()
    number = PhoneNumber.objects.get(tenant=tenant)
    contacts = max(20, int(100_000 * scale * share))
    copy_rows(
        Contact,
        (
            {"tenant_id": tenant.pk, "wa_id": f"1888{tenant.pk:02d}{i:07d}", "profile_name": f"Customer {i}"}
            for i in range(contacts)
        ),
    )
    contact_ids = _ids(Contact, tenant)
    copy_rows(
        Conversation,
        (
            {
                "tenant_id": tenant.pk,
                "contact_id": contact_id,
                "phone_number_id": number.pk,
                "last_activity_at": now - timedelta(minutes=i),
                "last_message_preview": "Thanks!",
                "status": "open" if i % 3 else "resolved",
            }
            for i, contact_id in enumerate(contact_ids)
        ),
    )
    conversation_ids = _ids(Conversation, tenant)
    messages = int(2_000_000 * scale * share)
    thread = conversation_ids[0]

    def message_rows():
        for i in range(messages):
            in_thread = big_thread and i < BIG_THREAD
            conversation_id = thread if in_thread else conversation_ids[rng.randrange(len(conversation_ids))]
            inbound = i % 2 == 0
            text = f"Message {i} about order {rng.randrange(10**6)}"
            yield {
                "tenant_id": tenant.pk,
                "conversation_id": conversation_id,
                "direction": "in" if inbound else "out",
                "type": "text",
                "text": text,
                "content": Jsonb({"type": "text", "text": {"body": text}}),
                "wamid": f"wamid.seed.{tenant.pk}.{i}",
                "status": "delivered" if inbound else "read",
                "timestamp": now - timedelta(seconds=(messages - i) * 3),
            }

    copy_rows(Message, message_rows())
    events = int(1_000_000 * scale * share)

    def event_rows():
        for i in range(events):
            body = (
                '{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"value":{"messaging_product":'
                f'"whatsapp","statuses":[{{"id":"wamid.seed.{tenant.pk}.{i}","status":"read","timestamp":"{i}",'
                f'"recipient_id":"1888{i:07d}"}}]}},"field":"messages"}}]}}]}}'
            )
            yield {
                "tenant_id": tenant.pk,
                "received_at": now - timedelta(seconds=(events - i) * 5),
                "body": body,
                "body_sha256": f"{tenant.pk:08d}{i:056d}",
                "signature": "valid",
                "state": "processed",
                "fields": "messages",
                "item_counts": Jsonb({"statuses": 1}),
                "processed_at": now,
            }

    copy_rows(WebhookEvent, event_rows())
    calls = int(200_000 * scale * share)
    copy_rows(
        GraphCall,
        (
            {
                "tenant_id": tenant.pk,
                "started_at": now - timedelta(seconds=(calls - i) * 10),
                "method": "POST",
                "path": f"/v24.0/{number.phone_number_id}/messages",
                "status_code": 200 if i % 50 else 400,
                "duration_ms": 100 + i % 80,
                "error_code": None if i % 50 else 131047,
                "error_message": "" if i % 50 else "Re-engagement message",
            }
            for i in range(calls)
        ),
    )
    return {
        "contacts": contacts,
        "messages": messages,
        "events": events,
        "calls": calls,
        "thread": thread,
        "small_thread": conversation_ids[-1],
    }


def run(scale, reuse=False):
    """Seed the three tenants; with reuse, a database seeded before is measured as it is."""
    from tenants.models import Tenant

    if reuse and Tenant.objects.filter(slug=TENANTS[0][0]).exists():
        return already_seeded(scale)
    rng = random.Random(8)
    started = time.monotonic()
    seeded = {}
    for index, (slug, phone_number_id, share) in enumerate(TENANTS):
        tenant, _secret = make_tenant(slug, phone_number_id)
        seeded[slug] = seed_tenant(tenant, share, scale, rng, big_thread=index == 0)
        print(f"  seeded {slug}: {seeded[slug]}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    total = {key: sum(tenant[key] for tenant in seeded.values()) for key in ("contacts", "messages", "events", "calls")}
    summary = (
        f"{total['contacts']:,} contacts and conversations, {total['messages']:,} messages, "
        f"{total['events']:,} webhook events, {total['calls']:,} Graph calls"
    )
    return {"seconds": round(time.monotonic() - started, 1), "tenants": seeded, "summary": summary, "scale": scale}


def already_seeded(scale):
    """What run() returns, read back from a database it seeded earlier (bench/run --keep-data)."""
    from whatsapp.models import Contact, Conversation, GraphCall, Message, WebhookEvent

    seeded = {}
    for slug, _phone_number_id, _share in TENANTS:
        conversations = Conversation.objects.filter(tenant__slug=slug).order_by("pk").values_list("pk", flat=True)
        seeded[slug] = {
            "contacts": Contact.objects.filter(tenant__slug=slug).count(),
            "messages": Message.objects.filter(tenant__slug=slug).count(),
            "events": WebhookEvent.objects.filter(tenant__slug=slug).count(),
            "calls": GraphCall.objects.filter(tenant__slug=slug).count(),
            "thread": conversations.first(),
            "small_thread": conversations.last(),
        }
    total = {key: sum(tenant[key] for tenant in seeded.values()) for key in ("contacts", "messages", "events", "calls")}
    summary = (
        f"reused: {total['contacts']:,} contacts and conversations, {total['messages']:,} messages, "
        f"{total['events']:,} webhook events, {total['calls']:,} Graph calls"
    )
    return {"seconds": 0, "tenants": seeded, "summary": summary, "scale": scale}


def catch_up():
    """COPY fires the dashboard's triggers like any insert, so every seeded conversation is
    marked for recounting: do what the maintenance job does over its next runs, so the pages
    are measured in their steady state. Returns the seconds it took."""
    from dashboard import facts

    started = time.monotonic()
    facts.catch_up()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seconds = round(time.monotonic() - started, 1)
    print(f"  dashboard facts caught up in {seconds} s", flush=True)
    return seconds
