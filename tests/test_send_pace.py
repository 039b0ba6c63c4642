"""A number's throughput setting, as Meta sees it: a worker sending a few hundred messages to
one number never lets more than the setting reach the Graph API in any second, wherever the
second falls (the fake records each send after answering in 100 ms, as a far Meta would see
it), and still keeps close to the setting; each message once, in order per conversation."""

import collections
import uuid

import pytest
from django.db import transaction

from tests.support.tenants import ACME
from tests.support.waiting import wait_until
from whatsapp.models import Contact, Conversation, Message, PhoneNumber
from whatsapp.sending import delivery

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

PER_SECOND, MESSAGES = 20, 300


@pytest.fixture
def stack(own_live_stack):
    return own_live_stack()


def queue_replies(tenant, number, count):
    """`count` queued replies, two per conversation, with their send jobs (one commit)."""
    with transaction.atomic():
        for index in range(count // 2):
            contact = Contact.objects.create(tenant=tenant, wa_id=f"1555{index:07d}", profile_name="Customer")
            conversation = Conversation.objects.create(tenant=tenant, contact=contact, phone_number=number)
            for turn in range(2):
                message = Message.objects.create(
                    tenant=tenant, conversation=conversation, direction="out", text=f"{turn}", status="queued"
                )
                delivery.queue(message)


def test_a_few_hundred_sends_never_put_more_than_the_setting_in_any_second_at_meta(stack, acme):
    number = acme.phone_numbers.get()
    number.phone_number_id = f"pace-{uuid.uuid4()}"  # Redis counts per number, for every test run
    number.messages_per_second = PER_SECOND
    number.save(update_fields=["phone_number_id", "messages_per_second"])
    stack.fake.register_number(number.phone_number_id, "", ACME["app_secret"], access_token=ACME["access_token"])
    stack.fake.script_delay(0.1, times=10**6, phone_number_id=number.phone_number_id)
    queue_replies(acme, number, MESSAGES)
    unsent = Message.objects.filter(direction="out", status__in=["queued", "sending"])
    wait_until(lambda: not unsent.exists(), timeout=MESSAGES / PER_SECOND * 3, message=stack.stack.log_tails)

    sent = sorted(stack.fake.sent_messages(number.phone_number_id), key=lambda record: record["time"])
    per_second = collections.Counter(int(record["time"]) for record in sent)
    assert max(per_second.values()) <= PER_SECOND, sorted(per_second.items())
    trackers = [record["body"]["biz_opaque_callback_data"] for record in sent]
    assert sorted(trackers) == sorted(f"message:{pk}" for pk in Message.objects.values_list("pk", flat=True))
    order = collections.defaultdict(list)
    for message in Message.objects.filter(pk__in=[int(t.split(":")[1]) for t in trackers]):
        order[message.conversation_id].append((trackers.index(f"message:{message.pk}"), message.pk))
    assert all([pk for _, pk in sorted(pairs)] == sorted(pk for _, pk in pairs) for pairs in order.values())
    span = sent[-1]["time"] - sent[0]["time"]
    assert (len(sent) - 1) / span >= 0.6 * PER_SECOND  # used, not only respected (on a busy machine too)
    assert PhoneNumber.objects.get().messages_per_second == PER_SECOND
