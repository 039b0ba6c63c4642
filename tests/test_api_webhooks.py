"""Outgoing webhook endpoints through the API: made with a manage key, their secret shown once,
a test event that reaches a real receiver signed so that standardwebhooks verifies it, the
delivery log a page at a time, sending again, the SSRF guard as a 422 problem, and every
operation closed to keys without the manage scope. The audit log names the key."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

import hooks
from api.models import IdempotentRequest
from hooks.models import Delivery, Endpoint
from tenants.models import AuditEvent
from tests.support.api import ApiClient, is_problem, make_key
from tests.support.hooks import deliver
from tests.support.receivers import Receiver

TYPE = "conversation.updated"


@pytest.fixture
def api(acme):
    return ApiClient(make_key(acme, scopes=["manage"], name="Ops", rate_limit_per_second=10_000)[1])


@pytest.fixture
def receiver():
    with Receiver(answer=lambda received: 200) as running:
        yield running


@pytest.fixture
def created(api, receiver):
    response = api.post("/api/v1/webhooks", {"url": receiver.url, "event_types": [TYPE], "description": "CRM"})
    assert response.status_code == 201, response.content
    return response.json()


def test_an_endpoint_made_through_the_api_answers_its_secret_once_and_a_test_event_arrives_signed(
    api, created, receiver
):
    assert created["secret"].startswith("whsec_") and created["event_types"] == [TYPE] and created["active"]
    read = api.get(f"/api/v1/webhooks/{created['id']}").json()
    assert "secret" not in read and read["url"] == receiver.url
    assert "secret" not in api.get("/api/v1/webhooks").json()["data"][0]

    sent = api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert sent.status_code == 202 and sent.json()["type"] == "webhook.test"
    assert deliver() == 1
    [received] = receiver.received
    body = Webhook(created["secret"]).verify(received.body, received.headers)
    assert received.webhook_id == sent.json()["event_id"] and body["type"] == "webhook.test"
    assert body["data"]["sent_by"] == "API key Ops"


def test_what_the_key_changes_is_audited_as_the_api_key(api, created):
    api.post(f"/api/v1/webhooks/{created['id']}/rotate-secret")
    entries = AuditEvent.objects.filter(action__startswith="webhook").order_by("pk")
    assert [entry.details["by"] for entry in entries] == ["API key Ops", "API key Ops"]
    assert all(entry.actor is None for entry in entries)


def test_a_url_the_inbox_may_not_call_is_a_422_unsafe_url_problem(api, settings):
    settings.OUTGOING_WEBHOOKS_ALLOW_PRIVATE = False
    for url in ("https://127.0.0.1/hooks", "http://example.com/hooks", "https://localhost:8000/in"):
        body = is_problem(api.post("/api/v1/webhooks", {"url": url, "event_types": [TYPE]}), 422, "unsafe-url")
        assert body["errors"][0]["loc"] == ["body", "url"]
    assert not Endpoint.objects.exists()
    assert api.get("/api/v1/problems/unsafe-url").json()["status"] == 422


def test_an_unknown_event_type_or_none_is_refused_in_words(api, receiver):
    body = is_problem(api.post("/api/v1/webhooks", {"url": receiver.url, "event_types": ["x.y"]}), 422)
    assert "Unknown event type: x.y" in body["detail"]
    is_problem(api.post("/api/v1/webhooks", {"url": receiver.url, "event_types": []}), 422, "action-refused")
    is_problem(api.post("/api/v1/webhooks", {"url": receiver.url}), 422, "validation-error")


def test_a_change_keeps_the_fields_not_given_and_delete_removes_the_endpoint(api, created):
    path = f"/api/v1/webhooks/{created['id']}"
    changed = api.patch(path, {"description": "Billing"})
    assert changed.status_code == 200
    assert changed.json()["description"] == "Billing" and changed.json()["event_types"] == [TYPE]
    assert changed.json()["url"] == created["url"]
    assert api.delete(path).status_code == 204
    is_problem(api.get(path), 404, "not-found")


def test_rotating_answers_the_new_secret_and_the_old_one_still_signs_during_the_overlap(api, created, receiver):
    rotated = api.post(f"/api/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["secret"].startswith("whsec_") and new["secret"] != created["secret"]
    assert new["previous_secret_until"]
    api.post(f"/api/v1/webhooks/{created['id']}/test")
    deliver()
    [received] = receiver.received
    Webhook(created["secret"]).verify(received.body, received.headers)
    Webhook(new["secret"]).verify(received.body, received.headers)


def test_a_disabled_endpoint_gets_no_test_event_until_it_is_enabled(api, created, receiver):
    path = f"/api/v1/webhooks/{created['id']}"
    assert api.post(f"{path}/disable").json()["active"] is False
    body = is_problem(api.post(f"{path}/test"), 422, "action-refused")
    assert "enable it first" in body["detail"]
    assert api.post(f"{path}/enable").json()["active"] is True
    assert api.post(f"{path}/test").status_code == 202
    assert deliver() == 1


def test_the_delivery_log_pages_newest_first_with_what_came_of_each(api, created, receiver, monkeypatch):
    monkeypatch.setattr("inbox.paging.PAGE_SIZE", 2)
    tenant_id = Endpoint.objects.get(pk=created["id"]).tenant_id
    events = [hooks.emit(tenant_id, TYPE, {"n": n}) for n in range(3)]
    deliver()
    path = f"/api/v1/webhooks/{created['id']}/deliveries"
    first = api.get(path).json()
    assert [row["event_id"] for row in first["data"]] == [events[2].public_id, events[1].public_id]
    row = first["data"][0]
    assert row["type"] == TYPE and row["status"] == "succeeded" and row["attempts"] == 1
    assert row["response_status"] == 200 and row["response_ms"] is not None and row["next_attempt_at"] is None
    second = api.get(path, cursor=first["next_cursor"]).json()
    assert [row["event_id"] for row in second["data"]] == [events[0].public_id] and second["next_cursor"] is None
    assert api.get(path, status="failed").json()["data"] == []
    is_problem(api.get(path, cursor="nonsense"), 422, "validation-error")
    is_problem(api.get(path, status="lost"), 422, "validation-error")


def test_one_delivery_or_every_failed_one_since_a_time_is_sent_again(api, created, receiver):
    endpoint = Endpoint.objects.get(pk=created["id"])
    first, second = (hooks.emit(endpoint.tenant_id, TYPE, {"n": n}) for n in range(2))
    assert deliver() == 2
    Delivery.objects.filter(endpoint=endpoint).update(status="failed")
    delivery = Delivery.objects.get(event=first)
    path = f"/api/v1/webhooks/{endpoint.pk}"
    again = api.post(f"{path}/deliveries/{delivery.pk}/redeliver")
    assert again.status_code == 202 and again.json()["status"] == "pending"
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    assert api.post(f"{path}/redeliver-failed", {"since": since}).json() == {"count": 1}
    assert deliver() == 2
    assert sorted(receiver.ids()[2:]) == sorted([first.public_id, second.public_id])  # posted side by side
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    is_problem(api.post(f"{path}/redeliver-failed", {"since": future}), 422, "action-refused")
    is_problem(api.post(f"{path}/redeliver-failed", {"since": "yesterday"}), 422, "validation-error")


def test_every_webhook_operation_needs_the_manage_scope(acme, created):
    reader = ApiClient(make_key(acme, scopes=["read", "send"], name="Reader")[1])
    path = f"/api/v1/webhooks/{created['id']}"
    delivery_path = f"{path}/deliveries/1/redeliver"
    calls = [
        reader.get("/api/v1/webhooks"),
        reader.post("/api/v1/webhooks", {"url": created["url"], "event_types": [TYPE]}),
        reader.get(path),
        reader.patch(path, {"description": "x"}),
        reader.delete(path),
        reader.post(f"{path}/rotate-secret"),
        reader.post(f"{path}/enable"),
        reader.post(f"{path}/disable"),
        reader.post(f"{path}/test"),
        reader.get(f"{path}/deliveries"),
        reader.post(delivery_path),
        reader.post(f"{path}/redeliver-failed", {"since": timezone.now().isoformat()}),
    ]
    for response in calls:
        assert is_problem(response, 403, "insufficient-scope")["required_scope"] == "manage"
    endpoint = Endpoint.objects.get(pk=created["id"])
    assert endpoint.secret == created["secret"] and endpoint.active and endpoint.description == "CRM"
    assert Endpoint.objects.count() == 1


def test_another_workspaces_endpoint_and_delivery_are_404_for_a_manage_key(globex, created):
    endpoint = Endpoint.objects.get(pk=created["id"])
    hooks.emit(endpoint.tenant_id, TYPE, {"n": 1})
    delivery = Delivery.objects.get(endpoint=endpoint)
    outsider = ApiClient(make_key(globex, scopes=["manage"])[1])
    assert outsider.get("/api/v1/webhooks").json() == {"data": []}
    path = f"/api/v1/webhooks/{endpoint.pk}"
    is_problem(outsider.post(f"{path}/deliveries/{delivery.pk}/redeliver"), 404, "not-found")
    is_problem(outsider.post(f"{path}/rotate-secret"), 404, "not-found")
    assert Endpoint.objects.get(pk=endpoint.pk).secret == created["secret"]


def test_a_retried_create_makes_one_endpoint_and_keeps_its_secret_encrypted_meanwhile(api, receiver):
    body = {"url": receiver.url, "event_types": [TYPE]}
    headers = {"Idempotency-Key": "crm-hook-1"}
    first = api.post("/api/v1/webhooks", body, headers=headers)
    again = api.post("/api/v1/webhooks", body, headers=headers)
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and Endpoint.objects.count() == 1
    kept = IdempotentRequest.objects.get(key="crm-hook-1")
    assert first.json()["secret"] not in json.dumps(kept.body)
