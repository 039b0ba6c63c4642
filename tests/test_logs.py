"""The logs pages: every webhook, filters, the raw body, replay; the rejected posts."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from tenants.models import AuditEvent, Role
from tenants.setup import add_member
from tests.support.tenants import ACME
from whatsapp.models import Message, WebhookEvent, WebhookReject
from whatsapp.simulator import payloads
from whatsapp.webhook import storage

PNID = ACME["phone_number_id"]


@pytest.fixture
def admin_client(acme):
    client = Client()
    client.force_login(add_member(acme, "admin@acme.test", role=Role.ADMIN).user)
    return client


@pytest.fixture
def events(acme, webhook, run_tasks):
    webhook.post(payloads.text_message(PNID, "15551234567", "findable needle"))
    webhook.post(payloads.status(PNID, "wamid.X", "delivered", "15551234567"))
    webhook.post(payloads.text_message("999", "15551234567", "for an unknown number"))
    run_tasks()
    # Kept from when posts without a valid signature were stored as events.
    body = payloads.encode(payloads.text_message(PNID, "15551234567", "bad")).decode()
    WebhookEvent.objects.create(tenant=acme, body=body, body_sha256="0" * 64, signature="invalid", state="rejected")
    return WebhookEvent.objects.order_by("pk")


@pytest.fixture
def rejects(webhook, monkeypatch):
    minute = timezone.now().replace(second=0, microsecond=0)
    monkeypatch.setattr(storage, "this_minute", lambda: minute)  # both posts in one minute, whenever they run
    webhook.post(b"<script>alert(1)</script>" + b"x" * 5000, signature=None)
    webhook.post(b"forged", signature="sha256=" + "0" * 64)
    return WebhookReject.objects.order_by("pk")


def test_login_is_required(client, acme):
    assert client.get("/t/acme/logs/")["Location"].startswith("/accounts/login/")


def test_an_outsider_gets_404(outsider_client, events):
    assert outsider_client.get("/t/acme/logs/").status_code == 404
    assert outsider_client.get(f"/t/acme/logs/{events[0].pk}/").status_code == 404
    assert outsider_client.get(f"/t/globex/logs/{events[0].pk}/").status_code == 404
    assert outsider_client.post(f"/t/globex/logs/{events[0].pk}/replay/").status_code == 404


def test_an_agent_gets_403(agent_client, events):
    assert agent_client.get("/t/acme/logs/").status_code == 403
    assert agent_client.post(f"/t/acme/logs/{events[0].pk}/replay/").status_code == 403


def test_wrong_methods_get_405(admin_client, events):
    assert admin_client.post("/t/acme/logs/").status_code == 405
    assert admin_client.get(f"/t/acme/logs/{events[0].pk}/replay/").status_code == 405


def test_the_log_lists_every_event_with_its_state(admin_client, events):
    content = admin_client.get("/t/acme/logs/").content.decode()
    for state in ("Processed", "Failed", "Rejected"):
        assert state in content
    assert "not one of this tenant&#x27;s numbers" in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "failed"}, 1),
        ({"state": "rejected"}, 1),
        ({"kind": "statuses"}, 1),
        ({"q": "findable needle"}, 1),
        ({"since": "2000-01-01", "until": "2999-01-01"}, 4),
        ({"until": "2000-01-01"}, 0),
    ],
)
def test_filters_narrow_the_list(admin_client, events, query, expected):
    response = admin_client.get("/t/acme/logs/", query)
    assert len(response.context["events"]) == expected


def test_pages_go_back_by_key(admin_client, events, monkeypatch):
    monkeypatch.setattr("inbox.paging.PAGE_SIZE", 3)
    first = admin_client.get("/t/acme/logs/").context
    assert len(first["events"]) == 3 and first["older_before"]
    second = admin_client.get("/t/acme/logs/", {"before": first["older_before"]}).context
    assert [e.pk for e in second["events"]] == [events[0].pk]


def test_the_detail_shows_the_pretty_printed_body_escaped(admin_client, webhook, run_tasks):
    webhook.post(payloads.text_message(PNID, "15551234567", "<img src=x onerror=alert(1)> olá"))
    event = WebhookEvent.objects.get()
    content = admin_client.get(f"/t/acme/logs/{event.pk}/").content.decode()
    assert '"messaging_product": "whatsapp"' in content.replace("&quot;", '"')
    assert "<img src=x" not in content and "olá" in content


def test_replay_processes_a_failed_event_again(admin_client, acme, events, run_tasks):
    failed = events.get(state="failed")
    acme.phone_numbers.create(phone_number_id="999", display_phone_number="15550009999")
    response = admin_client.post(f"/t/acme/logs/{failed.pk}/replay/")
    assert response.status_code == 302
    run_tasks()
    failed.refresh_from_db()
    assert failed.state == "processed"
    assert Message.objects.filter(text="for an unknown number").count() == 1


def test_an_unsigned_event_is_never_replayed(admin_client, events, run_tasks):
    rejected = events.get(state="rejected")
    admin_client.post(f"/t/acme/logs/{rejected.pk}/replay/")
    run_tasks()
    rejected.refresh_from_db()
    assert rejected.state == "rejected"
    assert not Message.objects.filter(text="bad").exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_REPLAYED).exists()


def test_agents_get_403_on_replay_and_nothing_is_queued_or_audited(agent_client, events):
    failed = events.get(state="failed")
    assert agent_client.post(f"/t/acme/logs/{failed.pk}/replay/").status_code == 403
    failed.refresh_from_db()
    assert failed.state == "failed"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_REPLAYED).exists()


def test_the_replay_command_requeues_failed_events(acme, events, run_tasks):
    acme.phone_numbers.create(phone_number_id="999", display_phone_number="15550009999")
    call_command("replay_webhooks", "--tenant", "acme")
    run_tasks()
    assert not WebhookEvent.objects.filter(state="failed").exists()
    call_command("replay_webhooks", "--state", "processed")
    run_tasks()
    assert Message.objects.count() == 2  # replaying twice changed nothing


def test_a_text_search_without_dates_looks_at_the_last_week_and_says_so(acme, admin_client):
    old = WebhookEvent.objects.create(tenant=acme, body='{"wamid.OLD": 1}', body_sha256="a" * 64, signature="valid")
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=30))
    WebhookEvent.objects.create(tenant=acme, body='{"wamid.OLD": 2}', body_sha256="b" * 64, signature="valid")

    page = admin_client.get("/t/acme/logs/", {"q": "wamid.OLD"})
    assert len(page.context["events"]) == 1
    assert page.context["filters"]["since"] == (timezone.localdate() - timedelta(days=7)).isoformat()
    assert "last 7 days" in page.content.decode()

    wider = admin_client.get("/t/acme/logs/", {"q": "wamid.OLD", "since": "2000-01-01"})
    assert len(wider.context["events"]) == 2


def test_an_old_rejected_event_still_shows(admin_client, events):
    rejected = events.get(state="rejected")
    content = admin_client.get(f"/t/acme/logs/{rejected.pk}/").content.decode()
    assert "Invalid" in content and "Replay" not in content


# --- Rejected posts ------------------------------------------------------------------------


def test_rejected_posts_need_a_login(client, acme):
    assert client.get("/t/acme/logs/rejected/")["Location"].startswith("/accounts/login/")


def test_an_outsider_gets_404_for_rejected_posts(outsider_client, rejects):
    reject = rejects.get()
    assert outsider_client.get("/t/acme/logs/rejected/").status_code == 404
    assert outsider_client.get(f"/t/acme/logs/rejected/{reject.pk}/").status_code == 404
    assert outsider_client.get(f"/t/globex/logs/rejected/{reject.pk}/").status_code == 404


def test_another_tenants_admin_cannot_read_acmes_sample(rejects, globex):
    client = Client()
    client.force_login(add_member(globex, "admin@globex.test", role=Role.ADMIN).user)
    assert client.get(f"/t/globex/logs/rejected/{rejects.get().pk}/").status_code == 404


def test_an_agent_gets_403_for_rejected_posts(agent_client, rejects):
    assert agent_client.get("/t/acme/logs/rejected/").status_code == 403
    assert agent_client.get(f"/t/acme/logs/rejected/{rejects.get().pk}/").status_code == 403


def test_rejected_posts_are_read_only(admin_client, rejects):
    assert admin_client.post("/t/acme/logs/rejected/").status_code == 405
    assert admin_client.post(f"/t/acme/logs/rejected/{rejects.get().pk}/").status_code == 405


def test_rejected_posts_are_listed_per_minute_with_their_counts(admin_client, rejects):
    page = admin_client.get("/t/acme/logs/rejected/")
    assert [(r.missing, r.invalid) for r in page.context["rejects"]] == [(1, 1)]
    assert "Rejected posts" in page.content.decode()


def test_the_sample_is_the_minutes_first_body_cut_and_escaped(admin_client, rejects):
    content = admin_client.get(f"/t/acme/logs/rejected/{rejects.get().pk}/").content.decode()
    assert "&lt;script&gt;alert(1)" in content and "<script>alert(1)" not in content
    assert "first 4,096 of 5,025 bytes" in content and "forged" not in content


def test_rejected_posts_page_back_by_key(acme, admin_client, monkeypatch):
    monkeypatch.setattr("inbox.paging.PAGE_SIZE", 2)
    start = timezone.now().replace(second=0, microsecond=0)
    for minutes in range(3):
        WebhookReject.objects.create(
            tenant=acme,
            minute=start - timedelta(minutes=minutes),
            missing=1,
            sample=b"x",
            sample_reason="missing",
            sample_size=1,
        )
    first = admin_client.get("/t/acme/logs/rejected/").context
    assert len(first["rejects"]) == 2 and first["older_before"]
    second = admin_client.get("/t/acme/logs/rejected/", {"before": first["older_before"]}).context
    assert [reject.minute for reject in second["rejects"]] == [start - timedelta(minutes=2)]


def test_the_page_states_the_search_window_it_uses(admin_client, events, monkeypatch):
    monkeypatch.setattr("whatsapp.logs.views.SEARCH_DAYS", 3)
    assert "looks at the last 3 days" in admin_client.get("/t/acme/logs/").content.decode()


def test_each_event_keeps_the_identifiers_its_body_names(events):
    [status] = [event for event in events if event.fields == "messages" and "statuses" in event.item_counts]
    assert {"wamid.X", "15551234567", PNID} <= set(status.search_terms)


# Bodies whose identifiers sit on the edges of the terms' expression and bounds.
EDGE_BODIES = [
    payloads.encode(payloads.text_message(PNID, "15551234567", "Hi wamid.not-a-quote 123456789")),
    payloads.encode(payloads.batch(*(payloads.status(PNID, f"wamid.S{n}", "read", "15557654321") for n in range(3)))),
    b'{"six": "123456", "seven": "1234567", "twenty": "12345678901234567890", "21": "123456789012345678901"}',
    b'{"id": "wamid.HBgL+/=_.-x", "short": "wamid.", "long": "wamid.'
    + b"A" * 300
    + b'", "edge": "wamid.'
    + b"B" * 249
    + b'"}',
    b'{"plus": "+15551234567", "bare": 15551234567, "twice": ["15551234567", "15551234567"]}',
    '{"text": "caf\\u00e9 \u00e9 wamid.\u00c4BC \\"9876543210\\" \\u0000", "nul": "\x00", "n": "1234567"}'.encode(),
    b'{"invalid utf-8": "\xff\xfe", "n": "7654321"}',
    b'not json at all: wamid.RAW \\"5551234567\\" "7654321',
]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database's function is PostgreSQL's")
@pytest.mark.parametrize("body", EDGE_BODIES)
def test_the_terms_a_webhook_stores_are_those_the_database_computes_for_other_inserts(db, body):
    stored = storage.event_fields(body, WebhookEvent.Signature.VALID)
    with connection.cursor() as cursor:
        cursor.execute("SELECT whatsapp_webhook_terms(%s)", [stored["body"]])
        [computed] = cursor.fetchone()
    assert stored["search_terms"] == sorted(json.loads(computed) if isinstance(computed, str) else computed)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the terms are filled by a PostgreSQL trigger")
def test_terms_given_on_insert_are_kept_and_missing_ones_filled(acme):
    body = '{"id": "wamid.GIVEN", "recipient_id": "15551234567"}'
    given = WebhookEvent.objects.create(
        tenant=acme, body=body, body_sha256="a" * 64, signature="valid", search_terms=["1234567"]
    )
    missing = WebhookEvent.objects.create(tenant=acme, body=body, body_sha256="b" * 64, signature="valid")
    given.refresh_from_db()
    missing.refresh_from_db()
    assert given.search_terms == ["1234567"]
    assert set(missing.search_terms) == {"15551234567", "wamid.GIVEN"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the terms are filled by a PostgreSQL trigger")
def test_a_wamid_or_phone_number_search_finds_events_of_any_date(admin_client, events):
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(days=400))
    wide = {"since": "2000-01-01"}
    assert len(admin_client.get("/t/acme/logs/", {"q": "wamid.X", **wide}).context["events"]) == 1
    assert len(admin_client.get("/t/acme/logs/", {"q": "+15551234567", **wide}).context["events"]) == 4
    assert len(admin_client.get("/t/acme/logs/", {"q": "wamid.X"}).context["events"]) == 0  # the last 7 days


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL query plan")
def test_a_wamid_search_over_any_dates_reads_the_terms_index(acme):
    from whatsapp.logs.views import filter_events

    with connection.cursor() as cursor:  # a year of a busy tenant's statuses, each naming its wamid
        cursor.execute(
            """INSERT INTO whatsapp_webhookevent (tenant_id, received_at, body, body_sha256, signature, state,
                   deliveries, fields, item_counts, error)
               SELECT %s, now() - n * interval '10 minutes', '{"id": "wamid.N' || n || '", "recipient_id": "1555"}',
                      md5(n::text), 'valid', 'processed', 1, 'messages', '{}', ''
               FROM generate_series(1, 50000) n""",
            [acme.pk],
        )
        cursor.execute("ANALYZE whatsapp_webhookevent")
    page = filter_events(acme, {"q": "wamid.N4242", "since": "2000-01-01"}).order_by("-received_at", "-pk")[:51]
    with connection.cursor() as cursor:
        sql, params = page.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "webhook_event_search_terms" in plan, plan
    assert [event.body for event in page] == ['{"id": "wamid.N4242", "recipient_id": "1555"}']
