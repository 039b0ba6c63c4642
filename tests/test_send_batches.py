"""Sends in batches (delivery.send_batch): a worker claims many send jobs at once, claims
their messages with one locked read, sends them side by side over kept connections and
settles them together; each message once, in order per conversation, and never faster than
its number's throughput setting."""

import uuid

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from tenants.models import Membership
from tests.support.batches import run_one_batch
from tests.support.tenants import ACME
from whatsapp.cloud import throttle
from whatsapp.conversations import receiving
from whatsapp.conversations.receiving import InboundMessage
from whatsapp.models import Conversation, GraphCall, Message, PhoneNumber
from whatsapp.sending import actions as sending

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="batches are claimed on PostgreSQL")

PNID = ACME["phone_number_id"]


@pytest.fixture
def replies(acme, agent, fake_graph):
    """Three replies queued in each of four conversations, as agents write them."""
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    membership = Membership.objects.get(user=agent)
    number = acme.phone_numbers.get()
    queued = []
    for n in range(4):
        inbound = InboundMessage(
            wamid=f"wamid.IN{n}",
            wa_id=f"1555000000{n}",
            user_id="",
            profile_name=f"Customer {n}",
            timestamp=timezone.now(),
            type="text",
            text="hello",
        )
        conversation = Conversation.objects.get(pk=receiving.receive_message(acme, number, inbound).conversation_id)
        queued += [sending.send_reply(membership, conversation, f"reply {n}.{k}") for k in range(3)]
    return queued


def sent_texts(fake_graph):
    return [sent["body"]["text"]["body"] for sent in fake_graph.sent_messages(PNID)]


def test_one_batch_sends_each_conversations_next_message_side_by_side(replies, fake_graph):
    run_one_batch("default")
    assert sorted(sent_texts(fake_graph)) == [f"reply {n}.0" for n in range(4)]
    assert Message.objects.filter(direction="out", status="sent").count() == 4
    assert GraphCall.objects.filter(message__in=[m for m in replies if m.text.endswith(".0")]).count() == 4


def test_batches_send_every_message_once_and_in_order_per_conversation(replies, fake_graph):
    while run_one_batch("default"):
        pass
    texts = sent_texts(fake_graph)
    assert sorted(texts) == sorted(m.text for m in replies)  # each once
    for n in range(4):
        assert [t for t in texts if t.startswith(f"reply {n}.")] == [f"reply {n}.{k}" for k in range(3)]
    assert set(Message.objects.filter(direction="out").values_list("status", flat=True)) == {"sent"}


def test_a_batch_never_sends_more_than_the_numbers_throughput_setting(replies, fake_graph):
    PhoneNumber.objects.update(phone_number_id=f"limit-{uuid.uuid4()}", messages_per_second=2)
    fake_graph.register_number(
        PhoneNumber.objects.get().phone_number_id, "", ACME["app_secret"], access_token=ACME["access_token"]
    )
    run_one_batch("default")
    assert len(fake_graph.sent_messages()) == 2
    waiting = Message.objects.filter(direction="out", text__endswith=".0", status="queued")
    assert waiting.count() == 2 and not waiting.exclude(waiting_reason="").exists()  # no alarm for agents
    # Each waits as a job at its booked place in a later second, half a second apart at 2/s.
    later = DBTaskResult.objects.filter(status="READY", run_after__gt=timezone.now(), run_after__lt=get_date_max())
    assert sorted(job.args_kwargs["args"][0] for job in later) == sorted(m.pk for m in waiting)
    places = sorted(job.run_after for job in later)
    assert (places[1] - places[0]).total_seconds() == pytest.approx(0.5)


def test_processes_booking_slots_at_once_never_get_more_than_the_setting_in_a_second():
    number = f"shared-{uuid.uuid4()}"
    now = 1_900_000_200.5
    booked = [slot for _ in range(5) for slot in throttle.reserve_slots(number, per_second=10, wanted=4, now=now)]
    per_second = {}
    for second, _index in booked:
        per_second[second] = per_second.get(second, 0) + 1
    assert per_second == {1_900_000_200: 10, 1_900_000_201: 10}
    assert len(set(booked)) == 20  # every place taken once
    assert throttle.reserve_slots(number, per_second=10, wanted=1, now=now + 2) == [(1_900_000_202, 0)]
