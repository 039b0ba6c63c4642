"""Sending through the fake Graph API: a real HTTP server that answers like Meta."""

import pytest
from django_tasks_db.models import DBTaskResult

from tenants.models import Membership
from tests.support.tenants import ACME
from whatsapp.models import Conversation, Message
from whatsapp.sending import actions as sending
from whatsapp.sending.delivery import send_message
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]


@pytest.fixture
def conversation(webhook, run_tasks, fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    webhook.post(payloads.text_message(PNID, "15551234567", "Hi", name="Ada"))
    run_tasks()
    return Conversation.objects.get()


@pytest.fixture
def reply(conversation, agent):
    membership = Membership.objects.get(user=agent)
    return sending.send_reply(membership, conversation, "Your order ships today 🚚")


def test_a_reply_reaches_the_graph_api_and_gets_its_wamid(reply, run_tasks, fake_graph):
    run_tasks()
    [sent] = fake_graph.sent_messages(PNID)
    assert sent["body"]["to"] == "15551234567"
    assert sent["body"]["text"]["body"] == "Your order ships today 🚚"
    assert sent["body"]["biz_opaque_callback_data"] == f"message:{reply.pk}"
    reply.refresh_from_db()
    assert (reply.status, reply.wamid) == ("sent", sent["wamid"])


def test_running_the_send_job_twice_sends_once(reply, run_tasks, fake_graph):
    run_tasks()
    send_message.call(reply.pk)
    assert len(fake_graph.sent_messages(PNID)) == 1


def test_the_sent_event_carries_the_ticks_and_the_wamid_of_the_stored_message(reply, run_tasks, published):
    """The rest of a sent message's HTML is as it was queued: the page moves its ticks and
    shows its actions once it has its wamid (static/js/inbox/thread.js moveTicks)."""
    published()
    run_tasks()
    [data] = [data for event, data in published() if event == "message.statuses"]
    stored = Message.objects.get(pk=reply.pk)
    [conversation] = data["conversations"]
    assert conversation["conversation_id"] == stored.conversation_id
    assert conversation["messages"] == [{"message_id": reply.pk, "status": "sent", "wamid": stored.wamid}]
    assert "ticks-sent" in data["ticks_html"]["sent"]


def test_a_permanent_error_fails_the_message_with_a_reason_an_agent_understands(reply, run_tasks, fake_graph):
    fake_graph.script_error(code=131047, message="Re-engagement message", details="More than 24 hours have passed")
    run_tasks()
    reply.refresh_from_db()
    assert reply.status == "failed"
    assert reply.error_code == 131047
    assert "Send a template" in reply.error_detail
    assert fake_graph.sent_messages(PNID) == []


def test_a_rate_limit_is_retried_later_and_then_sent(reply, run_tasks, fake_graph, fast_forward):
    fake_graph.script_error(code=130429, message="Rate limit hit", http_status=429)
    run_tasks()
    reply.refresh_from_db()
    assert reply.status == "queued"
    retry = DBTaskResult.objects.ready().filter(task_path="whatsapp.sending.delivery.send_message")
    assert not retry.exists()  # it waits for its backoff
    fast_forward()
    run_tasks()
    reply.refresh_from_db()
    assert reply.status == "sent"
    assert len(fake_graph.sent_messages(PNID)) == 1


def test_an_unreachable_graph_api_retries_rather_than_failing(reply, run_tasks, settings):
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:9"
    run_tasks()
    reply.refresh_from_db()
    assert reply.status == "queued"
    assert reply.send_attempts == 1
    assert reply.waiting_reason.startswith("Waiting to send")


def test_a_timeout_after_the_request_left_is_never_resent_blindly(reply, run_tasks, fake_graph, settings):
    settings.WHATSAPP_TIMEOUT_SECONDS = 0.3
    fake_graph.script_delay(1.0)
    run_tasks()
    reply.refresh_from_db()
    assert reply.status == "failed"
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_a_wrong_access_token_pauses_sending_and_the_message_waits(conversation, agent, run_tasks, fake_graph):
    connection = conversation.tenant.whatsapp
    connection.access_token = "revoked-token"
    connection.save()
    message = sending.send_reply(Membership.objects.get(user=agent), conversation, "hello")
    run_tasks()
    message.refresh_from_db()
    connection.refresh_from_db()
    assert message.status == "queued" and "access token" in message.waiting_reason
    assert connection.sending_paused


def test_status_webhooks_move_the_sent_reply_to_read(reply, run_tasks, fake_graph, webhook):
    run_tasks()
    reply.refresh_from_db()
    for status in ("delivered", "read"):
        webhook.post(payloads.status(PNID, reply.wamid, status, "15551234567", tracker=f"message:{reply.pk}"))
    run_tasks()
    reply.refresh_from_db()
    assert reply.status == "read"


def test_the_access_token_is_encrypted_at_rest(acme):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, app_secret FROM whatsapp_connection")
        stored_token, stored_secret = cursor.fetchone()
    assert ACME["access_token"] not in stored_token and ACME["app_secret"] not in stored_secret
    assert Message.objects.count() == 0
