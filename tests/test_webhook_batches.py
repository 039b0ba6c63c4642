"""Webhook events processed in batches (whatsapp/jobs/batches.py, ingest.process_events,
delivery.apply_status_batch): a worker claims many events' jobs at once, workspaces in turn,
applies their statuses with a few statements, moving each message forward only, and
publishes one live event per workspace."""

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.support.batches import run_one_batch
from tests.support.tenants import ACME, GLOBEX
from tests.support.webhooks import store_signed
from whatsapp.conversations import receiving
from whatsapp.conversations.receiving import InboundMessage
from whatsapp.models import Message, StatusUpdate, WebhookEvent
from whatsapp.realtime import events as realtime
from whatsapp.sending import delivery
from whatsapp.simulator import payloads
from whatsapp.webhook import ingest
from whatsapp.webhook.ingest import BATCH_SIZE

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="batches are claimed on PostgreSQL")

ACME_PNID, GLOBEX_PNID = ACME["phone_number_id"], GLOBEX["phone_number_id"]


def one_batch():
    return run_one_batch("webhooks")


def sent_messages(tenant, count, customer="15551234567"):
    """`count` messages of ours to one customer, sent (each with its wamid)."""
    inbound = InboundMessage(
        wamid=f"wamid.IN.{customer}",
        wa_id=customer,
        user_id="",
        profile_name="Customer",
        timestamp=timezone.now(),
        type="text",
        text="hello",
    )
    number = tenant.phone_numbers.get()
    conversation = receiving.receive_message(tenant, number, inbound).conversation
    return [
        Message.objects.create(
            tenant=tenant,
            conversation=conversation,
            direction="out",
            text=f"reply {n}",
            wamid=f"wamid.OUT.{customer}.{n}",
            status="sent",
        )
        for n in range(count)
    ]


def status_of(message):
    message.refresh_from_db()
    return message.status


def test_a_worker_processes_a_batch_of_events_with_one_claim(acme):
    for n in range(BATCH_SIZE + 20):
        store_signed(acme, ACME["app_secret"], payloads.status(ACME_PNID, f"wamid.X{n}", "delivered", "15551234567"))
    assert one_batch() == BATCH_SIZE
    assert WebhookEvent.objects.filter(state="processed").count() == BATCH_SIZE
    assert WebhookEvent.objects.filter(state="pending").count() == 20
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == BATCH_SIZE
    assert StatusUpdate.objects.count() == BATCH_SIZE


def test_a_burst_for_one_workspace_shares_the_batch_with_another_workspaces_events(acme, globex):
    for n in range(BATCH_SIZE * 3):
        store_signed(acme, ACME["app_secret"], payloads.status(ACME_PNID, f"wamid.A{n}", "delivered", "15551234567"))
    late = store_signed(globex, GLOBEX["app_secret"], payloads.status(GLOBEX_PNID, "wamid.G", "read", "15557654321"))
    one_batch()
    assert WebhookEvent.objects.get(pk=late).state == "processed"
    assert WebhookEvent.objects.filter(tenant=acme, state="pending").count() == BATCH_SIZE * 2 + 1


def test_customers_messages_are_taken_before_a_burst_of_statuses(acme):
    for n in range(BATCH_SIZE):
        store_signed(acme, ACME["app_secret"], payloads.status(ACME_PNID, f"wamid.A{n}", "delivered", "15551234567"))
    store_signed(acme, ACME["app_secret"], payloads.text_message(ACME_PNID, "15550000001", "Is my order late?"))
    one_batch()
    assert Message.objects.filter(direction="in", text="Is my order late?").exists()


def test_a_batch_stores_its_customers_messages_before_it_reads_its_statuses(acme, monkeypatch):
    for n in range(3):
        store_signed(acme, ACME["app_secret"], payloads.status(ACME_PNID, f"wamid.A{n}", "delivered", "15551234567"))
    store_signed(acme, ACME["app_secret"], payloads.text_message(ACME_PNID, "15550000001", "Is my order late?"))
    order = []
    read_status, receive_messages = ingest.Batch.read_status, receiving.receive_messages
    monkeypatch.setattr(
        ingest.Batch, "read_status", lambda batch, *args: order.append("status") or read_status(batch, *args)
    )
    monkeypatch.setattr(receiving, "receive_messages", lambda *args: order.append("message") or receive_messages(*args))
    one_batch()
    assert order == ["message", "status", "status", "status"]


def test_statuses_in_one_batch_move_each_message_to_its_furthest_status_and_never_back(acme):
    first, second, third = sent_messages(acme, 3)
    Message.objects.filter(pk=second.pk).update(status="read")
    Message.objects.filter(pk=third.pk).update(status="failed", error_title="Re-engagement")
    for wamid, status in [
        (first.wamid, "read"),
        (first.wamid, "delivered"),  # late, within the same batch
        (second.wamid, "delivered"),  # late: the message is read already
        (third.wamid, "read"),  # failed is final
    ]:
        store_signed(acme, ACME["app_secret"], payloads.status(ACME_PNID, wamid, status, "15551234567"))
    one_batch()
    assert [status_of(message) for message in (first, second, third)] == ["read", "read", "failed"]
    assert StatusUpdate.objects.count() == 4


def test_a_failed_status_in_a_batch_fails_its_message_with_a_reason(acme):
    [message] = sent_messages(acme, 1)
    store_signed(
        acme,
        ACME["app_secret"],
        payloads.status(ACME_PNID, message.wamid, "failed", "15551234567", error_code=131047, error_title="Window"),
    )
    one_batch()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", 131047)
    assert "template" in message.error_detail


def test_a_batch_publishes_one_tick_event_per_workspace_with_each_conversations_ticks(acme, globex, published):
    mine = sent_messages(acme, 3, customer="15551111111")
    theirs = sent_messages(acme, 1, customer="15552222222")
    [globex_message] = sent_messages(globex, 1)
    published()
    store_signed(
        acme,
        ACME["app_secret"],
        payloads.batch(*(payloads.status(ACME_PNID, m.wamid, "delivered", "15551111111") for m in mine + theirs)),
    )
    store_signed(
        globex, GLOBEX["app_secret"], payloads.status(GLOBEX_PNID, globex_message.wamid, "read", "15551234567")
    )
    one_batch()
    [acme_event, globex_event] = sorted(
        (data for event, data in published() if event == "message.statuses"),
        key=lambda data: len(data["conversations"]),
    )[::-1]
    by_conversation = {c["conversation_id"]: c["messages"] for c in acme_event["conversations"]}
    assert set(by_conversation) == {mine[0].conversation_id, theirs[0].conversation_id}
    assert {m["message_id"] for m in by_conversation[mine[0].conversation_id]} == {m.pk for m in mine}
    assert {m["status"] for m in by_conversation[mine[0].conversation_id]} == {"delivered"}
    assert "ticks-delivered" in acme_event["ticks_html"]["delivered"]
    assert globex_event["conversations"] == [
        {
            "conversation_id": globex_message.conversation_id,
            "messages": [{"message_id": globex_message.pk, "status": "read", "wamid": globex_message.wamid}],
        }
    ]


def test_a_burst_of_ticks_is_published_in_events_of_bounded_size(acme, published, monkeypatch):
    monkeypatch.setattr(realtime, "TICKS_PER_EVENT", 2)
    messages = [m for n in range(3) for m in sent_messages(acme, 2, customer=f"155500000{n:02d}")]
    published()
    store_signed(
        acme,
        ACME["app_secret"],
        payloads.batch(*(payloads.status(ACME_PNID, m.wamid, "read", "15551111111") for m in messages)),
    )
    one_batch()
    events = [data for event, data in published() if event == "message.statuses"]
    assert [len(data["conversations"]) for data in events] == [1, 1, 1]
    assert sorted(m["message_id"] for data in events for c in data["conversations"] for m in c["messages"]) == sorted(
        m.pk for m in messages
    )


def test_applying_a_batch_returns_the_messages_that_changed_and_again_none(acme):
    first, second = sent_messages(acme, 2)
    Message.objects.filter(pk=second.pk).update(status="read")
    reports = [
        (acme, delivery.ReportedStatus(wamid=m.wamid, status="delivered", timestamp=timezone.now()))
        for m in (first, second)
    ]
    changed = delivery.apply_status_batch(reports)
    assert [(m.pk, m.status) for m in changed] == [(first.pk, "delivered")]
    [moved] = changed  # each field read where it belongs
    assert (moved.wamid, moved.direction, moved.type) == (first.wamid, "out", "text")
    assert delivery.apply_status_batch(reports) == []
    assert StatusUpdate.objects.count() == 2


def test_an_event_of_an_odd_shape_is_reported_and_the_batch_goes_on(acme):
    odd = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "W", "changes": [{"field": "messages", "value": {"": [1]}}]}],
    }
    first = store_signed(acme, ACME["app_secret"], odd)
    later = store_signed(acme, ACME["app_secret"], payloads.status(ACME_PNID, "wamid.Z", "delivered", "15551234567"))
    one_batch()
    assert WebhookEvent.objects.get(pk=first).state in ("processed", "failed")
    assert WebhookEvent.objects.get(pk=later).state == "processed"
