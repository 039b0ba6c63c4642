"""What every API client relies on: problem documents for every error, Idempotency-Key on
POST (also under concurrent retries against a live server), per-key rate limits, bounded
bodies, and no 5xx for any input."""

import json
import threading
import uuid

import httpx
import pytest
from django.test import override_settings

from api import limits
from api.models import IdempotentRequest
from tests.support.api import ApiClient, is_problem, make_key
from tests.support.tenants import ACME
from whatsapp.models import Conversation, Message, MessageTemplate
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]


@pytest.fixture
def conversation(webhook, run_tasks):
    webhook.post(payloads.text_message(PNID, "15551234567", "Hi", name="Ada"))
    run_tasks()
    return Conversation.objects.get()


@pytest.fixture
def api(acme):
    return ApiClient(make_key(acme)[1])


def text_to(conversation, body="Your order ships today"):
    return {"conversation_id": conversation.pk, "type": "text", "text": {"body": body}}


def test_an_unknown_path_is_a_404_problem(api):
    is_problem(api.get("/api/v1/nothing-here"), 404, "not-found")


def test_a_problem_type_is_a_url_that_describes_it(client):
    answer = client.get("/api/v1/problems/rate-limited").json()
    assert answer["status"] == 429 and answer["type"] == "/api/v1/problems/rate-limited"
    is_problem(client.get("/api/v1/problems/nonsense"), 404)


def test_a_wrong_method_is_a_405_problem(api):
    body = is_problem(api.request("PUT", "/api/v1/messages", "{}"), 405, "method-not-allowed")
    assert "POST" in body["detail"]


@pytest.mark.parametrize("raw", ["{", "not json", '{"a": NaN}', '{"a": 1e999}', "[" * 100_000])
def test_a_body_that_is_not_json_is_a_400_problem(api, raw):
    is_problem(api.post("/api/v1/messages", raw=raw), 400, "invalid-json")


def test_a_nul_character_anywhere_in_the_body_is_refused(api, conversation):
    is_problem(api.post("/api/v1/messages", text_to(conversation, "a\x00b")), 400, "invalid-json")
    assert not conversation.messages.filter(direction="out").exists()


def test_a_lone_surrogate_is_refused(api, conversation):
    raw = json.dumps(text_to(conversation)).replace("Your", "\\ud800Your")
    is_problem(api.post("/api/v1/messages", raw=raw), 400, "invalid-json")


def test_an_invalid_field_is_a_422_problem_naming_it(api, conversation):
    body = is_problem(
        api.post("/api/v1/messages", {"conversation_id": conversation.pk, "type": "text"}), 422, "validation-error"
    )
    assert "text" in body["detail"] and body["errors"]
    body = is_problem(api.post("/api/v1/messages", {"type": "text", "text": {"body": "x"}}), 422)
    assert "conversation_id" in body["detail"]


def test_an_id_too_large_for_the_database_is_a_422_not_a_500(api):
    is_problem(api.get(f"/api/v1/conversations/{2**64}"), 422, "validation-error")
    is_problem(api.get("/api/v1/conversations", label=str(2**64)), 422, "validation-error")


def test_a_nul_in_the_query_string_is_a_400_problem(api):
    is_problem(api.get("/api/v1/contacts", q="a\x00"), 400, "bad-request")


def test_the_asgi_door_refuses_a_large_body_as_a_problem_before_reading_it():
    from inbox.body_limit import RequestBodyLimit

    sent, read = [], []

    async def app(scope, receive, send):  # never reached
        raise AssertionError("the app was called")

    async def receive():
        read.append(1)
        return {"type": "http.request", "body": b"x" * 10, "more_body": True}

    async def send(message):
        sent.append(message)

    door = RequestBodyLimit(app, {"/api/": 100}, problem_prefixes=["/api/"])
    scope = {"type": "http", "path": "/api/v1/messages", "headers": [(b"content-length", b"5000")]}
    import asyncio

    asyncio.run(door(scope, receive, send))
    assert sent[0]["status"] == 413 and read == []
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["type"] == "/api/v1/problems/body-too-large"


def test_the_same_idempotency_key_and_body_answers_the_same_and_sends_once(api, conversation):
    headers = {"Idempotency-Key": "order-1234-shipped"}
    first = api.post("/api/v1/messages", text_to(conversation), headers=headers)
    again = api.post("/api/v1/messages", text_to(conversation), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert conversation.messages.filter(direction="out").count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_422(api, conversation):
    headers = {"Idempotency-Key": "k-1"}
    assert api.post("/api/v1/messages", text_to(conversation), headers=headers).status_code == 201
    is_problem(
        api.post("/api/v1/messages", text_to(conversation, "Other"), headers=headers), 422, "idempotency-key-reused"
    )
    assert conversation.messages.filter(direction="out").count() == 1


def test_idempotency_keys_belong_to_their_api_key(acme, conversation):
    first, second = ApiClient(make_key(acme, name="A")[1]), ApiClient(make_key(acme, name="B")[1])
    headers = {"Idempotency-Key": "same"}
    assert first.post("/api/v1/messages", text_to(conversation), headers=headers).status_code == 201
    assert second.post("/api/v1/messages", text_to(conversation), headers=headers).status_code == 201
    assert conversation.messages.filter(direction="out").count() == 2


def test_a_refused_request_keeps_no_idempotent_answer(api, conversation):
    headers = {"Idempotency-Key": "k-2"}
    is_problem(api.post("/api/v1/messages", {**text_to(conversation), "conversation_id": 10**12}, headers=headers), 404)
    assert not IdempotentRequest.objects.exists()


def test_an_answer_older_than_a_day_is_forgotten(api, conversation):
    from datetime import timedelta

    from django.utils import timezone

    headers = {"Idempotency-Key": "k-3"}
    api.post("/api/v1/messages", text_to(conversation), headers=headers)
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    assert "Idempotent-Replayed" not in api.post("/api/v1/messages", text_to(conversation), headers=headers)
    assert conversation.messages.filter(direction="out").count() == 2


@pytest.mark.parametrize("value", ["", "x" * 256, "naïve"])
def test_a_malformed_idempotency_key_is_a_400(api, conversation, value):
    is_problem(api.post("/api/v1/messages", text_to(conversation), headers={"Idempotency-Key": value}), 400)


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_send_once(api_stack, acme):
    live_stack = api_stack
    from whatsapp.conversations import starting

    conversation = starting.start_conversation(
        None, tenant=acme, phone_number=acme.phone_numbers.get(), to="+14155550100"
    )
    _, raw = make_key(acme)
    body = {
        "conversation_id": conversation.pk,
        "type": "template",
        "template": {"name": "hello", "language": {"code": "en"}},
    }
    key = str(uuid.uuid4())
    answers, start = [], threading.Barrier(8)

    def retry():
        start.wait()
        response = httpx.post(
            f"{live_stack.url}/api/v1/messages",
            json=body,
            headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": key},
            timeout=30,
        )
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {201}
    assert len({answer["id"] for _, answer in answers}) == 1
    assert Message.objects.filter(conversation=conversation).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_on_their_own_database_connections_send_once(acme):
    """Threads in this process, each with its own connection: the database, not one server's
    request queue, is what keeps the second attempt out."""
    from django.db import connection

    from whatsapp.conversations import starting

    conversation = starting.start_conversation(
        None, tenant=acme, phone_number=acme.phone_numbers.get(), to="+14155550101"
    )
    _, raw = make_key(acme)
    body = {
        "conversation_id": conversation.pk,
        "type": "template",
        "template": {"name": "hello", "language": {"code": "en"}},
    }
    answers, start = [], threading.Barrier(6)

    def retry():
        try:
            start.wait()
            response = ApiClient(raw).post("/api/v1/messages", body, headers={"Idempotency-Key": "race"})
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6 and {status for status, _ in answers} == {201}
    assert len({message_id for _, message_id in answers}) == 1
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_a_key_over_its_rate_limit_gets_429_with_retry_after_and_ratelimit_headers(acme):
    api = ApiClient(make_key(acme, rate_limit_per_second=2)[1])
    responses = [api.get("/api/v1/numbers") for _ in range(10)]
    assert responses[0]["RateLimit-Limit"] == "2"
    limited = [response for response in responses if response.status_code == 429]
    assert limited  # ten requests cannot all fall in windows of two a second
    body = is_problem(limited[0], 429, "rate-limited")
    assert "2 requests a second" in body["detail"]
    assert int(limited[0]["Retry-After"]) >= 1 and limited[0]["RateLimit-Remaining"] == "0"


def test_keys_are_limited_separately(acme):
    busy, quiet = ApiClient(make_key(acme, rate_limit_per_second=1)[1]), ApiClient(make_key(acme)[1])
    for _ in range(5):
        busy.get("/api/v1/numbers")
    assert quiet.get("/api/v1/numbers").status_code == 200


def test_the_default_limit_is_the_setting(acme, settings):
    settings.API_RATE_LIMIT_PER_SECOND = 7
    assert ApiClient(make_key(acme)[1]).get("/api/v1/numbers")["RateLimit-Limit"] == "7"


def test_without_redis_the_limit_is_counted_in_the_process():
    with override_settings(REDIS_URL=""):
        windows = [limits.take("in-process-key", 3, now=1000.5) for _ in range(4)]
        assert [window.allowed for window in windows] == [True, True, True, False]
        assert limits.take("in-process-key", 3, now=1001.0).allowed  # the next second
        assert windows[-1].headers()["Retry-After"] == "1"


def test_with_redis_the_limit_is_shared_through_redis(settings):
    name = f"redis-{uuid.uuid4()}"
    windows = [limits.take(name, 2, now=2000.2) for _ in range(3)]
    assert [window.allowed for window in windows] == [True, True, False]
    import redis

    assert int(redis.Redis.from_url(settings.REDIS_URL).get(f"api-rate:{name}:2000")) == 3


HOSTILE_BODIES = [
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"0",
    b"{}",
    b'{"to": "+15551234567", "type": "text", "text": {"body": ""}}',
    b'{"to": "0000", "type": "template", "template": {"name": "x", "language": {"code": "en"}}}',
    b'{"to": ' + b'"9' * 1 + b"9" * 40 + b'", "type": "location", "location": {"latitude": 1000, "longitude": 0}}',
    b'{"conversation_id": 99999999999999999999999, "text": {"body": "x"}}',
    b'{"conversation_id": -1, "type": "reaction", "reaction": {"message_id": "", "emoji": 1}}',
    b'{"type": "image", "image": {"id": "1", "link": "https://x"}, "to": "+15551234567"}',
    b'{"to": "+15551234567", "type": "interactive", "interactive": {"a": [' + b"1," * 1000 + b"1]}}",
    b'{"wa_id": "=cmd|calc", "name": "<script>", "attributes": {"": ""}}',
    b'{"wa_id": "1e10", "attributes": {"a": {"b": 1}}}',
    b'{"status": "snoozed", "snoozed_until": "yesterday", "assignee": "nobody@x", "add_labels": [0, 1e3]}',
    b'{"name": "' + "é".encode() * 500 + b'", "notes": null, "blocked": "maybe"}',
    '{"text": {"body": "\U0001f600"}, "to": "+1 (555) 123-4567"}'.encode(),
    b"\xff\xfe\x00garbage",
    b'{"name": "x", "language": "xx", "category": "utility", "components": [{"type": "body", "text": "{{1}} {{a}}",'
    b' "example": {"body_text": [[]], "header_handle": [""]}}, {"type": "header", "format": "image"}]}',
    b'{"phone_number_id": "0", "pin": "abcdef"}',
    b'{"about": "", "websites": ["javascript:alert(1)", "", "https://x"], "vertical": "<x>", "email": "@"}',
    b'{"marketing": "opt_in", "source": "   "}',
    b'{"url": "javascript:alert(1)", "event_types": ["conversation.updated", 1], "since": "2999-01-01T00:00:00Z"}',
    b'{"url": "https://[::1]:99999/x", "event_types": ["conversation.updated", ""], "description": "\\u202e"}',
    b'{"url": "https://127.0.0.1/in", "event_types": ["webhook.test"], "since": "-999999-01-01"}',
]
# PNID: a real business number's id, where a path names one (/numbers/{phone_number_id}).
HOSTILE_IDS = ["0", "1", "-1", "abc", str(2**63), "9" * 30, "%00", "..%2f", PNID]


def test_no_operation_of_the_openapi_document_answers_5xx_to_hostile_input(acme, conversation, client, fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], waba_id=ACME["waba_id"], access_token=ACME["access_token"])
    api = ApiClient(make_key(acme, rate_limit_per_second=100_000)[1])
    template = MessageTemplate.objects.create(tenant=acme, meta_id="1", name="kept", language="en_US")
    document = client.get("/api/v1/openapi.json").json()
    tried = 0
    for path, operations in document["paths"].items():
        for method in operations:
            for ident in [*HOSTILE_IDS, str(template.pk)] if "{" in path else ["-"]:
                url = "/api/v1" + path.removeprefix("/api/v1")
                for name in [part[1:-1] for part in url.split("/") if part.startswith("{")]:
                    url = url.replace("{" + name + "}", ident)
                for raw in HOSTILE_BODIES if method in ("post", "patch", "put") else [b""]:
                    for content_type in ("application/json", "text/plain", "multipart/form-data; boundary=x"):
                        response = api.request(method.upper(), url, raw, content_type=content_type)
                        tried += 1
                        assert response.status_code < 500, (method, url, raw[:80], response.content[:300])
                        if response.status_code >= 400:
                            assert response["Content-Type"].startswith("application/problem+json"), (method, url)
    assert tried > 500
