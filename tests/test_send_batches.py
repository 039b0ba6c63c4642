"""Sends in batches (delivery.send_batch): a worker claims many send jobs at once, claims
their messages with one locked read, sends them side by side over kept connections and
settles them together; each message once, in order per conversation, and never faster than
its number's throughput setting."""

import collections
import time
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
from whatsapp.sending import delivery as sending_delivery

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
    unsent = Message.objects.filter(direction="out").exclude(status="sent")
    deadline = time.monotonic() + 10
    while unsent.exists() and time.monotonic() < deadline:
        if not run_one_batch("default"):
            time.sleep(0.01)  # the next group of places in the number's throughput
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
    assert len(fake_graph.sent_messages()) == 1  # at 2/s, places come one at a time
    waiting = Message.objects.filter(direction="out", text__endswith=".0", status="queued")
    assert waiting.count() == 3 and not waiting.exclude(waiting_reason="").exists()  # no alarm for agents
    # Each waits as a job at its booked place, a little over half a second apart at 2/s.
    later = DBTaskResult.objects.filter(status="READY", run_after__gt=timezone.now(), run_after__lt=get_date_max())
    assert sorted(job.args_kwargs["args"][0] for job in later) == sorted(m.pk for m in waiting)
    # Each job carries its place, as its time: the claim at that time sends without booking again.
    assert all(job.args_kwargs["args"][1] == pytest.approx(job.run_after.timestamp(), abs=1e-5) for job in later)
    places = sorted(job.run_after for job in later)
    gaps = [(after - before).total_seconds() for before, after in zip(places, places[1:])]
    assert gaps == [pytest.approx(throttle.WINDOW_SECONDS / 2, abs=0.001)] * 2


def per_window(times, window=1.0):
    """The most of `times` in any window of `window` seconds (however it falls)."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


def test_processes_booking_places_at_once_never_get_more_than_the_setting_in_any_second():
    number = f"shared-{uuid.uuid4()}"
    now = 1_900_000_200.5
    answers = [place for n in range(5) for place in throttle.book(number, 10, [f"{n}.{k}" for k in range(4)], now)]
    places = [now if place is None else place for place in answers]
    assert answers.count(None) == 1  # at 10/s, one goes at once, the others at their places
    assert len(set(places)) == 20  # every place taken once
    assert per_window(places, window=throttle.WINDOW_SECONDS) <= 10
    assert places == sorted(places) and places[-1] - places[0] < 2.1  # evenly, close to 10/s


def test_a_busy_numbers_places_come_in_groups_a_claim_takes_together_at_close_to_its_setting():
    number = f"groups-{uuid.uuid4()}"
    now = 1_900_000_250.0
    answers = [place for n in range(40) for place in throttle.book(number, 80, [f"{n}.{k}" for k in range(4)], now)]
    places = [now if place is None else place for place in answers]
    assert answers[:4] == [None] * 4  # the first group goes at once
    groups = collections.Counter(places)
    assert set(groups.values()) == {4} and len(groups) == 40  # 80/s: groups of 4, each taken once
    starts = sorted(groups)
    gaps = {round(after - before, 6) for before, after in zip(starts, starts[1:])}
    assert gaps == {round(throttle.WINDOW_SECONDS / 20, 6)}  # a group every twentieth of the window
    assert per_window(places, window=throttle.WINDOW_SECONDS - 1e-6) == 80  # the setting, never more
    assert 80 / throttle.WINDOW_SECONDS * 0.99 < (len(places) - 4) / (places[-1] - places[0]) <= 80


def test_a_quiet_numbers_sends_go_at_once_until_their_group_is_full():
    number = f"quiet-{uuid.uuid4()}"
    now = 1_900_000_270.0
    spacing = throttle.WINDOW_SECONDS / 20  # at 80/s, groups of 4
    assert throttle.book(number, 80, ["a", "b"], now) == [None, None]
    assert throttle.book(number, 80, ["c"], now + 0.001) == [None]  # its group has room
    later = throttle.book(number, 80, ["d", "e"], now + 0.002)
    assert later == [None, pytest.approx(now + spacing)]  # the group is full: the next one
    # Once a group's spacing has passed, a send starts a group of its own, at once.
    assert throttle.book(number, 80, ["f"], now + 3 * spacing) == [None]


def test_sends_late_to_their_places_leave_only_while_the_last_second_has_room():
    number = f"late-{uuid.uuid4()}"
    now = 1_900_000_300.0
    # Sends whose places came together (a worker that woke late, say): the setting's worth go.
    answers = throttle.depart(number, 4, [f"due.{k}" for k in range(6)], now)
    assert answers[:4] == [None] * 4
    assert all(place >= now + throttle.WINDOW_SECONDS for place in answers[4:])
    # Once the window has passed, the next ones go.
    assert throttle.depart(number, 4, ["due.6"], now + throttle.WINDOW_SECONDS + 0.01) == [None]


def test_a_batch_late_to_its_places_sends_the_setting_and_puts_the_rest_back_in_the_queue(replies, fake_graph):
    PhoneNumber.objects.update(phone_number_id=f"late-{uuid.uuid4()}", messages_per_second=2)
    fake_graph.register_number(
        PhoneNumber.objects.get().phone_number_id, "", ACME["app_secret"], access_token=ACME["access_token"]
    )
    first_replies = [m for m in replies if m.text.endswith(".0")]
    DBTaskResult.objects.all().delete()
    for message in first_replies:  # jobs whose places all came a while ago
        sending_delivery.send_message.enqueue(message.pk, time.time() - 5)
    run_one_batch("default")
    assert len(fake_graph.sent_messages()) == 2
    waiting = Message.objects.filter(pk__in=[m.pk for m in first_replies], status="queued")
    assert waiting.count() == 2 and set(waiting.values_list("send_attempts", flat=True)) == {0}
    later = DBTaskResult.objects.filter(status="READY", run_after__gt=timezone.now(), run_after__lt=get_date_max())
    assert sorted(job.args_kwargs["args"][0] for job in later) == sorted(m.pk for m in waiting)


def test_without_redis_one_process_counts_the_same_way(settings):
    settings.REDIS_URL = ""
    number = f"local-{uuid.uuid4()}"
    now = 1_900_000_400.0
    answers = throttle.depart(number, 4, [f"due.{k}" for k in range(6)], now)
    assert answers[:4] == [None] * 4 and all(place >= now + throttle.WINDOW_SECONDS for place in answers[4:])
    booked = throttle.book(number, 4, ["a", "b"], now + 0.5)
    assert None not in booked and booked[1] - booked[0] > 1 / 4


def test_the_alarm_wakes_the_worker_when_a_send_booked_for_later_is_due():
    import threading

    from whatsapp.jobs import alarm

    rung = threading.Event()
    alarm.listen(rung.set)  # as a worker's doorbell listens
    alarm.ring_at(time.time() + 0.3)
    assert not rung.wait(0.1)  # not before its time
    assert rung.wait(5)
