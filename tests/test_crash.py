"""A worker killed in the middle of a batch: once a new worker takes over, every message
ends sent exactly once, or failed with a reason an agent can act on."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import Role
from tenants.setup import add_member
from tests.support.tenants import ACME
from tests.support.waiting import wait_until
from whatsapp.conversations import actions as conversations
from whatsapp.conversations.actions import InboundMessage
from whatsapp.models import Conversation, Message
from whatsapp.sending import actions as sending
from whatsapp.sending import delivery

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
        conversation = Conversation.objects.get(pk=conversations.receive_message(acme, number, inbound).conversation_id)
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
