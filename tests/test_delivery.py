"""The delivery engine against a fake Graph API scripted to fail in each of Meta's ways."""

import uuid

import pytest
from django.test import Client

from tenants.models import Membership, Role
from tenants.setup import add_member, create_tenant
from tests.support.tenants import ACME
from tests.support.waiting import wait_until
from whatsapp.cloud import throttle
from whatsapp.models import Connection, Conversation, GraphCall, Message
from whatsapp.sending import actions as sending
from whatsapp.sending import delivery
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]


@pytest.fixture
def number(fake_graph, acme):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    return acme.phone_numbers.get()


@pytest.fixture
def talk(webhook, run_tasks, number, agent):
    """A customer writes; returns a function that queues the agent's reply to them."""
    membership = Membership.objects.get(user=agent)

    def reply(text, wa_id="15551234567"):
        if not Conversation.objects.filter(contact__wa_id=wa_id).exists():
            webhook.post(payloads.text_message(PNID, wa_id, "hi"))
            run_tasks()
        return sending.send_reply(membership, Conversation.objects.get(contact__wa_id=wa_id), text)

    return reply


def refreshed(message):
    message.refresh_from_db()
    return message


@pytest.mark.parametrize("code", [130429, 131000, 131016, 131057, 2, 133004, 4, 80007])
def test_transient_errors_wait_and_retry(talk, run_tasks, fake_graph, fast_forward, code):
    fake_graph.script_error(code=code, message="Temporarily unavailable", http_status=400)
    message = talk("hello")
    run_tasks()
    assert refreshed(message).status == "queued"
    assert message.waiting_reason.startswith("Waiting to send")
    fast_forward()
    run_tasks()
    assert refreshed(message).status == "sent"


def test_a_server_error_is_retried(talk, run_tasks, fake_graph, fast_forward):
    fake_graph.script_error(code=1, message="An unknown error occurred", http_status=503)
    message = talk("hello")
    run_tasks()
    fast_forward()
    run_tasks()
    assert refreshed(message).status == "sent"
    assert len(fake_graph.sent_messages(PNID)) == 1


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (131047, "Send a template"),
        (131026, "Reach the customer another way"),
        (131051, "does not support"),
        (132001, "not approved"),
        (100, "invalid"),
        (368, "policy"),
        (133010, "not registered"),
    ],
)
def test_permanent_errors_fail_at_once_with_a_next_step(talk, run_tasks, fake_graph, code, words):
    fake_graph.script_error(code=code, message="Refused")
    message = talk("hello")
    run_tasks()
    assert refreshed(message).status == "failed"
    assert words in message.error_detail
    assert fake_graph.sent_messages(PNID) == []


def test_a_pair_rate_limit_holds_back_only_that_customer(talk, run_tasks, fake_graph):
    fake_graph.script_error(code=131056, message="Pair rate limit hit")
    first = talk("to ann", wa_id="15550000001")
    other = talk("to bob", wa_id="15550000002")
    run_tasks()
    assert refreshed(first).status == "queued" and refreshed(other).status == "sent"
    assert refreshed(first).next_attempt_at is not None


def test_messages_to_one_conversation_leave_in_the_order_they_were_written(talk, run_tasks, fake_graph, fast_forward):
    fake_graph.script_error(code=130429, message="Rate limit hit")
    first, second, third = talk("one"), talk("two"), talk("three")
    run_tasks()
    assert [refreshed(m).status for m in (first, second, third)] == ["queued"] * 3
    fast_forward()
    run_tasks()
    assert [m["body"]["text"]["body"] for m in fake_graph.sent_messages(PNID)] == ["one", "two", "three"]


def test_a_graph_api_outage_loses_nothing(talk, run_tasks, fake_graph, fast_forward, settings):
    real_url = settings.WHATSAPP_GRAPH_URL
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:9"  # nothing listens there
    messages = [talk(f"message {n}") for n in range(3)]
    for _ in range(3):
        run_tasks()
        fast_forward()
    assert all(refreshed(m).status == "queued" for m in messages)
    settings.WHATSAPP_GRAPH_URL = real_url
    fast_forward()
    run_tasks()
    assert [m["body"]["text"]["body"] for m in fake_graph.sent_messages(PNID)] == [
        "message 0",
        "message 1",
        "message 2",
    ]


def test_an_expired_token_pauses_the_tenant_until_it_is_replaced(talk, run_tasks, fake_graph, acme, agent_client):
    connection = Connection.objects.get(tenant=acme)
    connection.access_token = "expired-token"
    connection.save()
    first, second = talk("one"), talk("two", wa_id="15550000009")
    run_tasks()
    assert refreshed(first).status == "queued" and refreshed(second).status == "queued"
    owner_client = Client()
    owner_client.force_login(add_member(acme, "boss@acme.test", role=Role.OWNER).user)
    assert "Sending is paused" in owner_client.get("/t/acme/inbox/").content.decode()
    create_tenant("acme", **ACME)  # the owner puts the valid token back
    run_tasks()
    assert refreshed(first).status == "sent" and refreshed(second).status == "sent"
    assert not Connection.objects.get(tenant=acme).sending_paused


def test_a_replaced_access_token_is_used_from_the_next_send(talk, run_tasks, fake_graph, acme):
    talk("with the first token")
    run_tasks()  # this worker thread now keeps a client with the first token
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token="a-new-token-0123456789")
    connection = Connection.objects.get(tenant=acme)
    connection.access_token = "a-new-token-0123456789"
    connection.save()
    second = talk("with the new token")
    run_tasks()
    assert refreshed(second).status == "sent"
    assert len(fake_graph.sent_messages(PNID)) == 2


def test_each_graph_call_is_logged_with_the_message_it_was_for(talk, run_tasks, fake_graph, acme, number):
    from whatsapp.cloud import api as cloud_api

    first = talk("one")
    run_tasks()
    second = talk("two")
    run_tasks()
    cloud_api.mark_read(number, Connection.objects.get(tenant=acme), "wamid.IN")  # for no message
    logged = GraphCall.objects.order_by("pk").values_list("message_id", flat=True)
    assert list(logged) == [first.pk, second.pk, None]


def test_a_status_that_overtakes_the_answer_to_the_send_is_kept(talk, run_tasks, webhook):
    message = talk("hello")
    claimed = delivery.claim(message.pk)  # the send is under way...
    webhook.post(payloads.status(PNID, "wamid.FAST", "delivered", "15551234567", tracker=f"message:{message.pk}"))
    run_tasks()  # ...when Meta's status webhook, naming our message, is processed
    delivery.mark_sent(claimed, "wamid.FAST")
    assert (refreshed(message).status, message.wamid) == ("delivered", "wamid.FAST")


def test_a_timeout_leaves_the_outcome_unknown_and_a_status_webhook_settles_it(
    talk, run_tasks, fake_graph, settings, webhook
):
    settings.WHATSAPP_TIMEOUT_SECONDS = 0.3
    fake_graph.script_delay(1.0)
    message = talk("did it go?")
    run_tasks()
    assert refreshed(message).status == "failed" and message.outcome_unknown
    assert "cannot tell whether" in message.error_detail
    # The fake did accept it, late: its status webhook carries our message id as the tracker.
    [sent] = wait_until(lambda: fake_graph.sent_messages(PNID), timeout=5, message="The fake got no send")
    webhook.post(payloads.status(PNID, sent["wamid"], "delivered", "15551234567", tracker=f"message:{message.pk}"))
    run_tasks()
    assert refreshed(message).status == "delivered" and message.wamid == sent["wamid"]
    assert not message.outcome_unknown and len(fake_graph.sent_messages(PNID)) == 1


def test_an_agent_can_resend_a_failed_message(talk, run_tasks, fake_graph, agent_client):
    fake_graph.script_error(code=131026, message="Undeliverable")
    message = talk("hello")
    run_tasks()
    url = f"/t/acme/inbox/c/{message.conversation_id}/m/{message.pk}/resend/"
    assert agent_client.post(url).status_code == 200
    run_tasks()
    assert refreshed(message).status == "sent"


def test_resend_is_refused_for_a_message_that_did_not_fail(talk, run_tasks, agent_client, outsider_client):
    message = talk("hello")
    run_tasks()
    url = f"/t/acme/inbox/c/{message.conversation_id}/m/{message.pk}/resend/"
    assert agent_client.post(url).status_code == 400
    assert agent_client.get(url).status_code == 405
    assert outsider_client.post(url).status_code == 404


def test_a_failed_status_webhook_with_a_transient_code_sends_again(talk, run_tasks, fake_graph, webhook, fast_forward):
    message = talk("hello")
    run_tasks()
    first_wamid = refreshed(message).wamid
    webhook.post(
        payloads.status(
            PNID, first_wamid, "failed", "15551234567", error_code=131000, error_title="Something went wrong"
        )
    )
    run_tasks()
    assert refreshed(message).status == "queued"
    fast_forward()
    run_tasks()
    assert refreshed(message).status == "sent" and message.wamid != first_wamid
    assert len(fake_graph.sent_messages(PNID)) == 2


def test_every_graph_call_is_logged_without_the_token(talk, run_tasks, fake_graph, acme):
    fake_graph.script_error(code=131047, message="Re-engagement message")
    talk("one")
    run_tasks()
    talk("two")
    run_tasks()
    failed, ok = GraphCall.objects.order_by("pk")
    assert (failed.method, failed.path, failed.status_code, failed.error_code) == (
        "POST",
        f"/v24.0/{PNID}/messages",
        400,
        131047,
    )
    assert ok.status_code == 200 and ok.error_code is None and ok.duration_ms >= 0
    for call in GraphCall.objects.all():
        assert ACME["access_token"] not in f"{call.path} {call.error_message}"


def test_the_graph_call_log_page_filters_and_hides_tokens(talk, run_tasks, fake_graph, acme):
    fake_graph.script_error(code=131047, message="Re-engagement message")
    talk("one")
    run_tasks()
    talk("two")
    run_tasks()
    admin = Client()
    admin.force_login(add_member(acme, "admin@acme.test", role=Role.ADMIN).user)
    assert len(admin.get("/t/acme/logs/graph/").context["calls"]) == 2
    assert len(admin.get("/t/acme/logs/graph/", {"state": "error"}).context["calls"]) == 1
    assert len(admin.get("/t/acme/logs/graph/", {"q": "131047"}).context["calls"]) == 1
    assert ACME["access_token"] not in admin.get("/t/acme/logs/graph/").content.decode()


def test_the_graph_call_log_is_for_admins_only(agent_client, outsider_client, acme):
    assert agent_client.get("/t/acme/logs/graph/").status_code == 403
    assert outsider_client.get("/t/acme/logs/graph/").status_code == 404


def test_a_send_stuck_by_a_dead_worker_is_marked_unknown_not_resent(talk, run_tasks, fake_graph):
    from datetime import timedelta

    from django.utils import timezone

    message = talk("hello")
    delivery.claim(message.pk)  # a worker claimed it, then died
    Message.objects.filter(pk=message.pk).update(status_changed_at=timezone.now() - timedelta(minutes=5))
    assert delivery.give_up_on_stuck_sends() == 1
    assert refreshed(message).status == "failed" and message.outcome_unknown
    run_tasks()
    assert fake_graph.sent_messages(PNID) == []


def test_a_send_settled_by_its_status_after_its_worker_died_lets_the_next_message_go(
    talk, run_tasks, fake_graph, webhook
):
    first, second = talk("one"), talk("two")
    delivery.claim(first.pk)  # a worker claimed it and sent it, then died before mark_sent
    run_tasks()  # the second's job finds the first still sending, and waits for its hand-over
    assert refreshed(second).status == "queued"
    webhook.post(payloads.status(PNID, "wamid.GONE", "sent", "15551234567", tracker=f"message:{first.pk}"))
    run_tasks()
    assert refreshed(first).status == "sent"
    assert refreshed(second).status == "sent"
    assert [m["body"]["text"]["body"] for m in fake_graph.sent_messages(PNID)] == ["two"]


def test_the_throughput_limit_spaces_a_numbers_sends_evenly_at_a_little_under_its_setting():
    number = f"limit-{uuid.uuid4()}"  # Redis is shared with any other test run on the machine
    now = 1_900_000_000.25
    places = [throttle.book(number, 3, [n], now)[0] for n in range(4)]
    assert places[0] is None  # the first goes at once
    interval = throttle.WINDOW_SECONDS / 3
    assert places[1:] == [pytest.approx(now + interval * n, abs=1e-5) for n in (1, 2, 3)]


def test_the_throughput_limit_is_shared_through_redis(settings):
    import redis

    assert settings.REDIS_URL
    number = f"shared-{uuid.uuid4()}"
    now = 1_900_000_100.5
    throttle.book(number, 1, ["one", "two"], now)
    throttle.depart(number, 1, ["one"], now)
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.zcard(f"throttle:{number}:left") == 1  # the one that left
    # The latest group of places: the second's, a window after the first (at 1/s, one a group).
    latest = client.hgetall(f"throttle:{number}:group")
    assert int(latest[b"at"]) == int(now * 1_000_000) + int(throttle.WINDOW_SECONDS * 1_000_000)
    assert int(latest[b"places"]) == 1
