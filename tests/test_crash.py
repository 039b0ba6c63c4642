"""A worker killed in the middle of a batch: once a new worker takes over, every message
ends sent exactly once, or failed with a reason an agent can act on; every webhook event is
processed, its messages and statuses stored once each."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tenants.models import Role
from tenants.setup import add_member
from tests.support.tenants import ACME
from tests.support.waiting import wait_until
from tests.support.webhooks import store_signed
from whatsapp.conversations import receiving
from whatsapp.conversations.receiving import InboundMessage
from whatsapp.maintenance import requeue_abandoned_tasks
from whatsapp.models import Conversation, Message, StatusUpdate, WebhookEvent
from whatsapp.sending import actions as sending
from whatsapp.sending import delivery
from whatsapp.simulator import payloads

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

CONVERSATIONS, PER_CONVERSATION = 5, 4


@pytest.fixture
def stack(own_live_stack):
    """A web + worker stack of this test's own: its worker is killed here."""
    return own_live_stack()


def queue_replies(acme, agent_membership):
    number = acme.phone_numbers.get()
    for n in range(CONVERSATIONS):
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
        for k in range(PER_CONVERSATION):
            sending.send_reply(agent_membership, conversation, f"reply {n}.{k}")
    return list(Message.objects.filter(direction="out").order_by("pk"))


def idle(worker_id):
    """A condition: the worker has no task in hand and none is ready (the killed worker's
    claims stay RUNNING for ever)."""
    from django_tasks_db.models import DBTaskResult

    tasks = DBTaskResult.objects.exclude(task_path__endswith="maintain_delivery")

    def no_work_left():
        return not tasks.ready().exists() and not tasks.filter(status="RUNNING", worker_ids__contains=[worker_id])

    return no_work_left


def sends_per_message(fake):
    counts = {}
    for sent in fake.sent_messages(ACME["phone_number_id"]):
        tracker = sent["body"].get("biz_opaque_callback_data")
        counts[tracker] = counts.get(tracker, 0) + 1
    return counts


def test_killing_the_worker_mid_batch_never_sends_a_message_twice(stack, acme):
    membership = add_member(acme, "agent@acme.test", role=Role.AGENT)
    stack.fake.register_number(
        ACME["phone_number_id"],
        f"{stack.url}/webhooks/whatsapp/acme/",
        ACME["app_secret"],
        access_token=ACME["access_token"],
    )
    stack.fake.script_delay(0.3, times=1000)  # each send takes a while: the kill lands mid-call
    messages = queue_replies(acme, membership)
    wait_until(lambda: len(stack.fake.sent_messages()) >= 3, timeout=30, message=stack.stack.log_tails)
    stack.stack.kill("worker")
    stack.stack.start_worker("worker-2")
    # The killed worker's claim is never finished: maintenance settles it as unknown. A send
    # job the killed worker had taken but not started is lost with it (likelier with threads):
    # maintenance queues its message again. First the new worker sends all it can.
    wait_until(idle("worker-2"), timeout=30, message=lambda: f"worker-2 still busy\n{stack.stack.log_tails()}")
    later = timezone.now() + timedelta(minutes=5)
    delivery.give_up_on_stuck_sends(now=later)
    delivery.requeue_forgotten(now=later)

    def settled():
        open_ = Message.objects.filter(direction="out", status__in=["queued", "sending"]).count()
        unknown_but_sent = [
            m
            for m in Message.objects.filter(outcome_unknown=True)
            if f"message:{m.pk}" in sends_per_message(stack.fake)
        ]
        return open_ == 0 and not unknown_but_sent

    wait_until(settled, timeout=60, message=stack.stack.log_tails)
    counts = sends_per_message(stack.fake)
    assert all(count == 1 for count in counts.values()), counts
    for message in Message.objects.filter(pk__in=[m.pk for m in messages]):
        if f"message:{message.pk}" in counts:
            assert message.status in ("sent", "delivered", "read"), message.status
        else:
            assert message.status == "failed" and message.error_detail, (message.pk, message.status)
    # At most the sends cut off before they left: one per conversation (the worker's threads
    # send several conversations at once, but each conversation's messages one by one).
    assert sum(counts.values()) >= len(messages) - CONVERSATIONS


def no_transaction_in_flight():
    """No other session of the test database is running a statement or holding a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
        )
        return cursor.fetchone()[0] == 0


def test_killing_the_worker_mid_batch_of_webhooks_loses_and_doubles_nothing(own_live_stack, acme):
    from django_tasks_db.models import DBTaskResult

    pnid, secret = ACME["phone_number_id"], ACME["app_secret"]
    number = acme.phone_numbers.get()
    conversation = receiving.receive_message(
        acme,
        number,
        InboundMessage(
            wamid="wamid.FIRST",
            wa_id="15559990000",
            user_id="",
            profile_name="C",
            timestamp=timezone.now(),
            type="text",
        ),
    ).conversation
    ours = [
        Message.objects.create(
            tenant=acme, conversation=conversation, direction="out", text=f"r{n}", wamid=f"wamid.OUT{n}", status="sent"
        )
        for n in range(200)
    ]
    # Customers' messages (stored one by one, so the kill lands inside a batch) and statuses
    # arriving out of order (read before delivered), some twice.
    for n in range(400):
        store_signed(acme, secret, payloads.text_message(pnid, f"1555100{n:04d}", f"hello {n}"))
    for message in ours:
        for status in ("read", "delivered", "read"):
            store_signed(acme, secret, payloads.batch(payloads.status(pnid, message.wamid, status, "15559990000")))
    events = WebhookEvent.objects.filter(tenant=acme)
    stack = own_live_stack(worker=False)
    stack.stack.start_worker("worker")
    # One process drains about a thousand events a second: look often, to kill it early in the drain.
    wait_until(
        lambda: events.filter(state="processed").exists(), timeout=60, message=stack.stack.log_tails, interval=0.005
    )
    stack.stack.kill("worker")
    # A claim the worker sent just before it died may still commit: count once nothing is in flight.
    wait_until(no_transaction_in_flight, timeout=30, message="a killed worker's transaction stays open")
    cut_off = DBTaskResult.objects.filter(status="RUNNING", worker_ids__contains=["worker"]).count()
    assert cut_off > 1, "the worker died with no batch in hand"
    assert events.filter(state="pending").exists()

    stack.stack.start_worker("worker-2")
    wait_until(idle("worker-2"), timeout=120, message=lambda: f"worker-2 still busy\n{stack.stack.log_tails()}")
    assert requeue_abandoned_tasks(now=timezone.now() + timedelta(minutes=15)) == cut_off
    wait_until(lambda: not events.exclude(state="processed").exists(), timeout=60, message=stack.stack.log_tails)

    assert Message.objects.filter(direction="in").count() == 401  # each customer's message once
    assert StatusUpdate.objects.count() == 400  # read and delivered of each, once
    assert set(Message.objects.filter(pk__in=[m.pk for m in ours]).values_list("status", flat=True)) == {"read"}
