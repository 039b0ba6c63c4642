"""The inbox pages: who may see them, and the composer."""

import pytest
from django.test import Client

from tenants.models import Role
from tenants.setup import add_member
from tests.support.tenants import ACME, PASSWORD
from whatsapp import message_types
from whatsapp.contacts import actions as contacts
from whatsapp.models import Conversation, Message
from whatsapp.simulator import payloads


@pytest.fixture
def conversation(webhook, run_tasks):
    webhook.post(payloads.text_message(ACME["phone_number_id"], "15551234567", "Where is my order?", name="Ada"))
    run_tasks()
    return Conversation.objects.get()


def test_login_is_required_for_the_inbox(client, acme):
    response = client.get("/t/acme/inbox/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_agent_sees_their_tenants_conversations(agent_client, conversation):
    response = agent_client.get("/t/acme/inbox/")
    assert response.status_code == 200
    assert b"Ada" in response.content and b"Where is my order?" in response.content


def test_an_outsider_gets_404_on_another_tenants_inbox(outsider_client, acme):
    assert outsider_client.get("/t/acme/inbox/").status_code == 404


def test_an_outsider_gets_404_on_another_tenants_conversation(outsider_client, conversation):
    assert outsider_client.get(f"/t/acme/inbox/c/{conversation.pk}/").status_code == 404
    assert outsider_client.get(f"/t/globex/inbox/c/{conversation.pk}/").status_code == 404


def test_an_outsider_cannot_send_into_another_tenants_conversation(outsider_client, conversation):
    assert outsider_client.post(f"/t/globex/inbox/c/{conversation.pk}/send/", {"text": "hi"}).status_code == 404
    assert not Message.objects.filter(direction="out").exists()


def test_the_inbox_refuses_other_methods(agent_client, conversation):
    assert agent_client.post("/t/acme/inbox/").status_code == 405
    assert agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/send/").status_code == 405


def test_opening_a_conversation_shows_its_thread_and_clears_unread(agent_client, conversation):
    response = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/")
    assert response.status_code == 200
    assert b'id="composer-text"' in response.content
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


def test_sending_queues_a_message_and_its_job(agent_client, conversation):
    from django_tasks_db.models import DBTaskResult

    response = agent_client.post(
        f"/t/acme/inbox/c/{conversation.pk}/send/", {"text": "On its way!"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201
    message = Message.objects.get(direction="out")
    assert (message.status, message.text, message.author.email) == ("queued", "On its way!", "agent@acme.test")
    job = DBTaskResult.objects.get(task_path="whatsapp.sending.delivery.send_message")
    assert job.args_kwargs["args"] == [message.pk]


def test_an_empty_message_is_refused_with_a_reason(agent_client, conversation):
    response = agent_client.post(
        f"/t/acme/inbox/c/{conversation.pk}/send/", {"text": "   "}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Write a message first."


def test_sending_after_the_window_closed_is_refused(agent_client, conversation):
    from datetime import timedelta

    from django.utils import timezone

    Conversation.objects.filter(pk=conversation.pk).update(window_closes_at=timezone.now() - timedelta(minutes=1))
    response = agent_client.post(f"/t/acme/inbox/c/{conversation.pk}/send/", {"text": "hello?"})
    assert response.status_code == 400
    assert b"24-hour window is closed" in response.content
    assert not Message.objects.filter(direction="out").exists()


def test_after_login_a_user_with_one_tenant_lands_in_its_inbox(client, agent):
    response = client.post("/accounts/login/", {"username": "agent@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == "/t/acme/inbox/"


def test_a_user_with_several_tenants_gets_a_picker(client, agent, globex):
    add_member(globex, "agent@acme.test", role=Role.AGENT)
    client.force_login(agent)
    response = client.get("/")
    assert response.status_code == 200
    assert b"/t/acme/inbox/" in response.content and b"/t/globex/inbox/" in response.content


def test_a_wrong_password_shows_a_form_error(client, agent):
    response = client.post("/accounts/login/", {"username": "agent@acme.test", "password": "nope"})
    assert response.status_code == 200
    assert b"correct email and password" in response.content.lower() or b"enter a correct" in response.content.lower()


def test_customer_text_is_escaped(agent_client, webhook, run_tasks):
    webhook.post(
        payloads.text_message(ACME["phone_number_id"], "15559999999", "<script>alert(1)</script>", name="<b>x</b>")
    )
    run_tasks()
    conversation = Conversation.objects.get()
    content = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/").content
    assert b"<script>alert(1)</script>" not in content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert b"<b>x</b>" not in content


def test_healthz_answers_with_json(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_logout_ends_the_session(agent_client):
    assert agent_client.post("/accounts/logout/").status_code == 302
    assert agent_client.get("/t/acme/inbox/").status_code == 302


def test_the_simulator_is_not_routed_outside_demo_mode(agent_client):
    assert agent_client.get("/simulator/").status_code == 404


def test_a_user_cannot_log_in_to_an_inactive_tenant(client, agent, acme):
    acme.active = False
    acme.save()
    client.force_login(agent)
    assert client.get("/t/acme/inbox/").status_code == 404


def test_an_agent_of_acme_is_not_a_member_of_globex(agent_client, globex):
    assert agent_client.get("/t/globex/inbox/").status_code == 404


def test_the_login_page_renders(client, db):
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


def test_the_page_takes_its_limits_from_the_server(agent_client, conversation, monkeypatch):
    monkeypatch.setattr(message_types, "TEXT_MAX", 321)
    monkeypatch.setattr(message_types, "TEMPLATE_VALUE_MAX", 123)
    monkeypatch.setattr(contacts, "NOTES_MAX", 77)
    response = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/")
    content = response.content.decode()
    assert 'id="composer-text" rows="1"' in content and 'data-max-length="321"' in content  # counted, never cut
    assert '<textarea name="notes" rows="4" maxlength="77"' in content
    page_data = response.context["page_data"]
    assert page_data["template_value_max"] == 123
    assert page_data["closing_soon_ms"] == 2 * 3600 * 1000  # models.WINDOW_CLOSING_SOON
    assert page_data["typing_every_ms"] == 20 * 1000  # conversations.TYPING_EVERY
