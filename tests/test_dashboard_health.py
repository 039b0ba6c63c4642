"""The dashboard's WhatsApp connection panel: webhooks, signatures, the token, the number's
quality and limit, the warnings, and "Check the number now" against the fake Graph API."""

from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from dashboard import health
from dashboard.forms import Period
from tenants.models import Role
from tenants.setup import add_member
from tests.support.tenants import ACME
from whatsapp.models import Connection, GraphCall, Message, PhoneNumber, WebhookEvent
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]
URL = "/t/acme/dashboard/"


@pytest.fixture
def admin_client(acme):
    client = Client()
    client.force_login(add_member(acme, "admin@acme.test", role=Role.ADMIN).user)
    return client


def report(tenant):
    return health.connection_health(tenant, Period.last(7))


def titles(tenant):
    return [alert.title for alert in report(tenant).warnings]


def test_a_new_tenant_is_told_that_meta_has_not_called_yet(acme):
    result = report(acme)
    assert result.last_webhook is None and result.token == "unknown"
    assert titles(acme) == ["No signed webhook from Meta yet"]


def test_webhooks_and_their_signature_failures_are_reported(acme, webhook, run_tasks):
    webhook.post(payloads.text_message(PNID, "15551234567", "hello"))
    webhook.post(payloads.text_message(PNID, "15551234567", "forged"), signature="sha256=" + "0" * 64)
    webhook.post(payloads.text_message(PNID, "15551234567", "unsigned"), signature=None)
    run_tasks()
    result = report(acme)
    assert result.bad_signatures == 2
    assert result.last_webhook.signature == "valid"  # refused posts are counted, not stored
    assert result.last_valid_webhook_at == WebhookEvent.objects.get(signature="valid").received_at
    assert titles(acme) == ["2 webhooks had a missing or wrong signature"]


def test_events_that_could_not_be_processed_point_to_the_logs(acme, webhook, run_tasks, admin_client):
    webhook.post(payloads.text_message("999", "15551234567", "for a number acme does not have"))
    run_tasks()
    assert report(acme).failed_events == 1
    assert "1 webhook could not be processed" in titles(acme)
    assert "/t/acme/logs/?state=failed" in admin_client.get(URL).content.decode()


def test_silence_after_sending_says_webhooks_stopped(acme, webhook, run_tasks, agent):
    webhook.post(payloads.text_message(PNID, "15551234567", "hello"))
    run_tasks()
    event = WebhookEvent.objects.get()
    sent_at = event.received_at + timedelta(minutes=1)
    Message.objects.create(
        tenant=acme,
        conversation=acme.conversations.get(),
        direction="out",
        author=agent,
        wamid="wamid.SENT",
        status="sent",
        timestamp=sent_at,
    )
    assert health.connection_health(acme, Period.last(7), now=sent_at + timedelta(minutes=5)).warnings == []
    later = health.connection_health(acme, Period.last(7), now=sent_at + timedelta(minutes=20))
    assert [alert.title for alert in later.warnings] == ["Webhooks have stopped arriving"]


def test_the_token_is_judged_by_the_last_answered_graph_call(acme):
    GraphCall.objects.create(
        tenant=acme,
        method="POST",
        path="/v24.0/1/messages",
        status_code=200,
        started_at=timezone.now() - timedelta(minutes=5),
    )
    assert report(acme).token == "valid"
    GraphCall.objects.create(
        tenant=acme, method="POST", path="/v24.0/1/messages", status_code=None, error_message="ConnectError"
    )  # no answer: says nothing about the token
    assert report(acme).token == "valid"
    GraphCall.objects.create(
        tenant=acme,
        method="POST",
        path="/v24.0/1/messages",
        status_code=401,
        error_code=190,
        error_message="Error validating access token",
    )
    result = report(acme)
    assert result.token == "invalid" and "190" in result.token_note
    assert "The access token does not work" in [alert.title for alert in result.warnings]


def test_a_paused_connection_means_an_invalid_token(acme):
    Connection.objects.filter(tenant=acme).update(sending_paused_reason="WhatsApp refused the access token (190)")
    acme.refresh_from_db()
    assert report(acme).token == "invalid"


def test_a_low_quality_number_gets_a_warning_in_words(acme, admin_client):
    PhoneNumber.objects.filter(tenant=acme).update(quality_rating="RED", messaging_limit="TIER_250")
    number = report(acme).numbers[0]
    assert (number.quality, number.quality_level, number.limit) == ("Low", "danger", "250 customers a day")
    content = admin_client.get(URL).content.decode()
    assert "Quality of 15550001111: Low" in content and "250 customers a day" in content


def test_quality_webhooks_feed_the_panel(acme, webhook, run_tasks):
    webhook.post(
        payloads.field_update(
            "phone_number_quality_update",
            {"display_phone_number": ACME["display_phone_number"], "event": "DOWNGRADE", "current_limit": "TIER_1K"},
        )
    )
    run_tasks()
    number = report(acme).numbers[0]
    assert (number.quality, number.limit) == ("Limit lowered for low quality", "1,000 customers a day")


@pytest.fixture
def graph(fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    return fake_graph


def test_check_now_asks_the_graph_api_and_keeps_the_answer(acme, admin_client, graph):
    graph.numbers[PNID].quality_rating = "YELLOW"
    graph.numbers[PNID].messaging_limit_tier = "TIER_10K"
    response = admin_client.post(URL + "check-number/", follow=True)
    assert "WhatsApp answered for 1 number." in response.content.decode()
    number = PhoneNumber.objects.get(tenant=acme)
    assert (number.quality_rating, number.messaging_limit, number.verified_name) == (
        "YELLOW",
        "TIER_10K",
        "Fake Business",
    )
    call = GraphCall.objects.get(tenant=acme)
    assert (call.method, call.path, call.status_code) == ("GET", f"/v24.0/{PNID}", 200)
    assert "Quality of 15550001111: Medium" in response.content.decode()


def test_check_now_with_a_refused_token_says_so(acme, admin_client, graph):
    graph.numbers[PNID].access_token = "another-token"
    response = admin_client.post(URL + "check-number/", follow=True)
    content = response.content.decode()
    assert "WhatsApp refused the access token" in content
    assert "The access token does not work" in content
    assert PhoneNumber.objects.get(tenant=acme).quality_rating == ""


def test_check_now_when_whatsapp_is_unreachable_is_an_error_not_a_500(acme, admin_client, settings):
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:9"
    response = admin_client.post(URL + "check-number/", follow=True)
    assert response.status_code == 200
    assert "Checking 15550001111 with WhatsApp failed: WhatsApp is unreachable" in response.content.decode()


def test_the_fake_graph_api_answers_the_number_node_like_meta(graph):
    headers = {"Authorization": f"Bearer {ACME['access_token']}"}
    answer = httpx.get(
        f"{graph.url}/v24.0/{PNID}", params={"fields": "quality_rating,messaging_limit_tier"}, headers=headers
    ).json()
    assert answer == {"id": PNID, "quality_rating": "GREEN", "messaging_limit_tier": "TIER_1K"}
    refused = httpx.get(f"{graph.url}/v24.0/{PNID}", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == 190


def test_a_tenant_without_a_connection_is_told_so(acme, admin_client):
    Connection.objects.filter(tenant=acme).delete()
    content = admin_client.get(URL).content.decode()
    assert "WhatsApp is not connected" in content
    response = admin_client.post(URL + "check-number/", follow=True)
    assert "This tenant has no WhatsApp connection yet." in response.content.decode()
