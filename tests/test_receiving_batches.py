"""Customers' messages of one processing batch are stored together
(whatsapp/conversations/receiving.py `receive_messages`): each once, each conversation moved
forward once for all of its messages, a live event per message and per conversation, and a
few statements whatever the batch's size. A message that cannot be stored fails its own
event only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.batches import run_one_batch
from tests.support.tenants import ACME
from tests.support.webhooks import store_signed
from whatsapp.models import Contact, Conversation, Message, WebhookEvent
from whatsapp.simulator import payloads

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="batches are claimed on PostgreSQL")

PNID, SECRET = ACME["phone_number_id"], ACME["app_secret"]


def customer_says(acme, wa_id, text, **kwargs):
    return store_signed(acme, SECRET, payloads.text_message(PNID, wa_id, text, **kwargs))


def test_a_batch_stores_each_message_once_and_moves_each_conversation_forward_once(acme, published):
    first = customer_says(acme, "15550000001", "Hello", wamid="wamid.A1")
    run_one_batch("webhooks")
    Conversation.objects.update(status="resolved", unread_count=0)
    published()
    customer_says(acme, "15550000001", "Still there?", wamid="wamid.A2")
    customer_says(acme, "15550000001", "Hello?", wamid="wamid.A3")
    customer_says(acme, "15550000002", "Hi, new here", wamid="wamid.B1")
    # Meta again, in a body of its own (an identical body is one event at the door).
    resent = customer_says(acme, "15550000002", "Hi, new here", wamid="wamid.B1", name="Customer B")
    customer_says(acme, "15550000001", "Hello", wamid="wamid.A1", display_phone_number="+1 555 000 1111")

    assert run_one_batch("webhooks") == 5
    assert WebhookEvent.objects.exclude(state="processed").count() == 0
    assert WebhookEvent.objects.get(pk=resent).error == ""
    assert sorted(Message.objects.values_list("wamid", flat=True)) == ["wamid.A1", "wamid.A2", "wamid.A3", "wamid.B1"]
    returning = Conversation.objects.get(contact__wa_id="15550000001")
    assert (returning.status, returning.unread_count, returning.last_message_preview) == ("open", 2, "Hello?")
    new = Conversation.objects.get(contact__wa_id="15550000002")
    assert (new.status, new.unread_count, new.contact.profile_name) == ("open", 1, "Customer B")
    events = published()
    created = [data["message_id"] for event, data in events if event == "message.created"]
    assert sorted(created) == sorted(Message.objects.exclude(wamid="wamid.A1").values_list("pk", flat=True))
    changed = [data["conversation_id"] for event, data in events if event == "conversation.updated"]
    assert sorted(changed) == sorted([returning.pk, new.pk])
    assert WebhookEvent.objects.get(pk=first).state == "processed"


def test_a_batchs_statements_do_not_grow_with_its_messages(acme, published):
    def statements_for(customers, offset):
        for n in range(customers):
            customer_says(acme, f"1555100{offset + n:04d}", f"Order {n}", wamid=f"wamid.Q{offset + n}")
        with CaptureQueriesContext(connection) as queries:
            run_one_batch("webhooks")
            published()  # the live events' own reads
        return len(queries)

    statements_for(3, 0)  # warm: the workspace's settings and keywords are cached after this
    assert statements_for(40, 100) == statements_for(5, 200)


def test_a_blocked_contacts_message_is_stored_but_raises_nothing(acme, published):
    customer_says(acme, "15550000009", "first", wamid="wamid.K1")
    run_one_batch("webhooks")
    Contact.objects.filter(wa_id="15550000009").update(blocked=True)
    Conversation.objects.update(unread_count=0)
    published()
    customer_says(acme, "15550000009", "let me in", wamid="wamid.K2")
    customer_says(acme, "15550000010", "someone else", wamid="wamid.K3")
    run_one_batch("webhooks")
    assert Message.objects.filter(wamid="wamid.K2").exists()
    assert Conversation.objects.get(contact__wa_id="15550000009").unread_count == 0
    shown = [data["message_id"] for event, data in published() if event == "message.created"]
    assert shown == [Message.objects.get(wamid="wamid.K3").pk]


def test_a_reaction_in_the_same_batch_as_its_message_applies_either_way(acme):
    store_signed(acme, SECRET, payloads.reaction_message(PNID, "15550000011", "wamid.R1", "👍"))
    customer_says(acme, "15550000011", "look at this", wamid="wamid.R1")
    run_one_batch("webhooks")
    assert Message.objects.get(wamid="wamid.R1").reactions == {"customer": "👍"}


def test_a_message_that_cannot_be_stored_fails_its_own_event_only(acme):
    store_signed(acme, SECRET, payloads.text_message(PNID, "15550000021", "hi", user_id="US.SAME", wamid="wamid.U1"))
    run_one_batch("webhooks")
    # Another number claims the same business-scoped user id: no contact can hold both.
    clash = store_signed(
        acme, SECRET, payloads.text_message(PNID, "15550000022", "me too", user_id="US.SAME", wamid="wamid.U2")
    )
    fine = customer_says(acme, "15550000023", "unrelated", wamid="wamid.U3")
    run_one_batch("webhooks")
    assert WebhookEvent.objects.get(pk=fine).state == "processed"
    failed = WebhookEvent.objects.get(pk=clash)
    assert failed.state == "failed" and "messages: IntegrityError" in failed.error
    assert Message.objects.filter(wamid="wamid.U3").exists()
    assert not Message.objects.filter(wamid="wamid.U2").exists()


def test_a_batchs_customers_messages_go_live_before_its_ticks(acme, published):
    customer_says(acme, "15550000041", "first things first", wamid="wamid.F1")
    run_one_batch("webhooks")
    reply = Message.objects.create(
        tenant=acme, conversation=Conversation.objects.get(), direction="out", wamid="wamid.OUT.F", status="sent"
    )
    published()
    store_signed(acme, SECRET, payloads.status(PNID, reply.wamid, "delivered", "15550000041"))  # stored first
    customer_says(acme, "15550000042", "urgent", wamid="wamid.F2")
    run_one_batch("webhooks")
    kinds = [event for event, _data in published()]
    assert kinds.index("message.created") < kinds.index("message.statuses")
