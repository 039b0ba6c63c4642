"""Scale-out: two web processes and two workers sharing PostgreSQL and Redis, as on two
machines behind a proxy, each reaching PostgreSQL through PgBouncer as production runs it:
web processes through a transaction-mode pool, workers through a session-mode pool. A webhook
posted to one web process reaches a websocket connected to the other, every webhook is stored
and processed once whichever process Meta's retries reach, and every queued message is sent
exactly once and in order."""

import asyncio
import collections
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import websockets
from django.db import transaction
from django.test import Client

from tests.support.browsing import serving_acme
from tests.support.pgbouncer import SESSION, TRANSACTION, PgBouncer
from tests.support.tenants import ACME
from tests.support.waiting import wait_until
from whatsapp.models import Contact, Conversation, Message, PhoneNumber, WebhookEvent
from whatsapp.sending import delivery
from whatsapp.simulator import payloads

pytestmark = pytest.mark.stack
PNID = ACME["phone_number_id"]


@pytest.fixture
def pgbouncer(tmp_path, transactional_db):
    """PgBouncer in front of the test database: stopped after the stack's processes."""
    from django.db import connection

    bouncer = PgBouncer(connection.settings_dict, tmp_path).start()
    yield bouncer
    bouncer.stop()


@pytest.fixture
def two_of_each(request, pgbouncer, own_live_stack, transactional_db, acme):
    """A stack of the test's own with a second web process and a second worker, the web
    processes on PgBouncer's transaction pool and the workers on its session pool."""
    live = own_live_stack(
        roles={
            "web": {"DATABASE_URL": pgbouncer.url("transaction"), "DATABASE_POOLER": "pgbouncer-transaction"},
            "worker": {"DATABASE_URL": pgbouncer.url("session"), "DATABASE_POOLER": "pgbouncer-session"},
        }
    )
    other_web = live.stack.start_web("web-b")
    live.stack.start_worker("worker-b")
    with serving_acme(request, live):
        yield live, other_web


def served_by_both_pools(pgbouncer, transactions):
    """Both pools have served transactions since `transactions` (pgbouncer.transactions())."""
    now = pgbouncer.transactions()
    return all(now.get(pool, 0) > transactions.get(pool, 0) for pool in (TRANSACTION, SESSION))


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


def test_every_webhook_is_stored_and_processed_once_whichever_web_process_each_delivery_reaches(
    two_of_each, pgbouncer, acme
):
    stack, other_web = two_of_each
    before = pgbouncer.transactions()
    bodies = [
        payloads.encode(
            payloads.text_message(PNID, f"1555777{index:04d}", f"Question {index}", name=f"Customer {index}")
        )
        for index in range(40)
    ]
    wamids = [json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["id"] for body in bodies]
    web_processes = [stack.url, other_web]

    def deliver(index_and_body):
        # Meta sends each body twice (a retry), and the retry lands on the other web process.
        index, body = index_and_body
        for attempt in range(2):
            url = web_processes[(index + attempt) % 2]
            response = payloads.deliver(f"{url}/webhooks/whatsapp/acme/", body, ACME["app_secret"])
            assert response.status_code == 200, response.text

    with ThreadPoolExecutor(8) as posting:
        list(posting.map(deliver, enumerate(bodies)))

    events = WebhookEvent.objects.filter(tenant=acme)
    wait_until(
        lambda: events.count() == len(bodies) and not events.exclude(state="processed").exists(),
        timeout=60,
        message=lambda: (
            f"{events.exclude(state='processed').count()} of {events.count()} events not processed\n"
            f"{stack.stack.log_tails()}"
        ),
    )
    assert sorted(events.values_list("deliveries", flat=True)) == [2] * len(bodies)
    stored = collections.Counter(Message.objects.filter(tenant=acme, direction="in").values_list("wamid", flat=True))
    assert stored == collections.Counter(wamids)
    wait_until(lambda: served_by_both_pools(pgbouncer, before), timeout=10, message=lambda: pgbouncer.show("STATS"))


def test_every_queued_message_is_sent_exactly_once_and_in_order_by_two_workers(two_of_each, pgbouncer, acme):
    stack, _other_web = two_of_each
    before = pgbouncer.transactions()
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
    wait_until(lambda: served_by_both_pools(pgbouncer, before), timeout=10, message=lambda: pgbouncer.show("STATS"))
