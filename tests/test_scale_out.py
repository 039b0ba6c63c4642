"""Scale-out: two web processes and two workers sharing PostgreSQL and Redis, as on two
machines behind a proxy. A webhook posted to one web process reaches a websocket connected
to the other, and every queued message is sent exactly once."""

import asyncio
import collections
import json

import pytest
import websockets
from django.db import transaction
from django.test import Client

from tests.support.browsing import serving_acme
from tests.support.tenants import ACME
from tests.support.waiting import wait_until
from whatsapp.models import Contact, Conversation, Message, PhoneNumber
from whatsapp.sending import delivery
from whatsapp.simulator import payloads

pytestmark = pytest.mark.stack
PNID = ACME["phone_number_id"]


@pytest.fixture
def two_of_each(request, own_live_stack, transactional_db, acme):
    """A stack of the test's own with a second web process and a second worker."""
    live = own_live_stack()
    other_web = live.stack.start_web("web-b")
    live.stack.start_worker("worker-b")
    with serving_acme(request, live):
        yield live, other_web


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def first_message_event(socket_url, origin, cookie, post):
    """Connect, run post(), and return the first message.created event the socket gets."""
    async with websockets.connect(
        socket_url, additional_headers={"Cookie": f"sessionid={cookie}"}, origin=origin
    ) as socket:
        await asyncio.to_thread(post)
        while True:
            event = json.loads(await asyncio.wait_for(socket.recv(), 20))
            if event.get("event") == "message.created":
                return event


def test_a_webhook_posted_to_one_web_process_reaches_a_socket_on_the_other(two_of_each, agent):
    stack, other_web = two_of_each
    payload = payloads.text_message(PNID, "15557770001", "Hello across processes", name="Ines")

    def post_to_the_first_web_process():
        response = payloads.deliver(f"{stack.url}/webhooks/whatsapp/acme/", payload, ACME["app_secret"])
        assert response.status_code == 200

    socket_url = other_web.replace("http://", "ws://") + "/ws/t/acme/"
    event = asyncio.run(
        first_message_event(socket_url, other_web, session_cookie(agent), post_to_the_first_web_process)
    )
    assert event["data"]["preview"] == "Hello across processes"
    assert event["data"]["contact"] == "Ines"


def test_every_queued_message_is_sent_exactly_once_and_in_order_by_two_workers(two_of_each, acme):
    stack, _other_web = two_of_each
    stack.fake.script_delay(0.05, times=40)  # sends overlap, so both workers take turns
    number = PhoneNumber.objects.get(tenant=acme)
    ids = []
    with transaction.atomic():
        for index in range(10):
            contact = Contact.objects.create(tenant=acme, wa_id=f"1555888{index:04d}")
            conversation = Conversation.objects.create(tenant=acme, contact=contact, phone_number=number)
            for turn in range(3):
                message = Message.objects.create(
                    tenant=acme, conversation=conversation, direction="out", text=f"Reply {turn}", status="queued"
                )
                delivery.queue(message)
                ids.append(message.pk)

    waiting = Message.objects.filter(pk__in=ids, status__in=["queued", "sending"])
    wait_until(lambda: not waiting.exists(), timeout=30, message=lambda: f"{waiting.count()} messages still waiting")

    sent = stack.fake.sent_messages(PNID)
    trackers = collections.Counter(record["body"].get("biz_opaque_callback_data") for record in sent)
    assert {f"message:{pk}" for pk in ids} <= set(trackers)
    assert all(trackers[f"message:{pk}"] == 1 for pk in ids)
    assert not Message.objects.filter(pk__in=ids).exclude(status__in=["sent", "delivered", "read"]).exists()
    # Each worker sends on several threads, yet a conversation's messages leave in order.
    conversation_of = dict(Message.objects.filter(pk__in=ids).values_list("pk", "conversation_id"))
    arrived = collections.defaultdict(list)
    for record in sorted(sent, key=lambda record: record["time"]):
        pk = int(record["body"]["biz_opaque_callback_data"].split(":")[1])
        if pk in conversation_of:
            arrived[conversation_of[pk]].append(pk)
    assert all(pks == sorted(pks) for pks in arrived.values()), arrived
