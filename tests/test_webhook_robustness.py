"""Hostile and racing input: never a 500, never a partial write, exactly once across
connections."""

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.tenants import ACME
from whatsapp.models import Message, StatusUpdate, WebhookEvent
from whatsapp.simulator import payloads
from whatsapp.webhook import ingest, storage

PNID = ACME["phone_number_id"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def mutated_payloads():
    """Meta-shaped bodies with parts replaced by arbitrary JSON."""
    base = payloads.text_message(PNID, "15551234567", "hi")

    def mutate(replacement, where):
        body = json.loads(json.dumps(base))
        value = body["entry"][0]["changes"][0]["value"]
        targets = {
            "entry": (body, "entry"),
            "changes": (body["entry"][0], "changes"),
            "value": (body["entry"][0]["changes"][0], "value"),
            "messages": (value, "messages"),
            "message": (value["messages"], 0),
            "contacts": (value, "contacts"),
            "timestamp": (value["messages"][0], "timestamp"),
            "type": (value["messages"][0], "type"),
            "text": (value["messages"][0], "text"),
            "id": (value["messages"][0], "id"),
            "metadata": (value, "metadata"),
        }
        parent, key = targets[where]
        parent[key] = replacement
        return body

    wheres = st.sampled_from(
        ["entry", "changes", "value", "messages", "message", "contacts", "timestamp", "type", "text", "id", "metadata"]
    )
    return st.builds(mutate, json_values, wheres)


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=300)
    | mutated_payloads().map(lambda p: json.dumps(p).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
)
def test_any_signed_body_gets_a_clear_answer_and_never_a_500(acme, run_tasks, body):
    client = Client(raise_request_exception=False)
    response = client.post(
        "/webhooks/whatsapp/acme/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=payloads.sign(body, ACME["app_secret"]),
    )
    assert response.status_code in (200, 400), response.content
    run_tasks()  # processing never raises out of the worker either
    for event in WebhookEvent.objects.all():
        assert event.state in ("processed", "failed")


@pytest.mark.django_db
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.text(max_size=80), body=st.binary(max_size=200))
def test_a_bad_signature_is_refused_and_nothing_is_processed(acme, run_tasks, header, body):
    client = Client(raise_request_exception=False)
    response = client.post(
        "/webhooks/whatsapp/acme/", data=body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=header
    )
    assert response.status_code in (401, 403)
    run_tasks()
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_identical_posts_racing_on_separate_connections_store_one_row_each(acme, no_live_stack):
    """Meta's duplicates arrive at the same moment on different server processes: each
    thread here has its own PostgreSQL connection, as each process would."""
    batch = payloads.batch(
        payloads.text_message(PNID, "15551234567", "race", wamid="wamid.RACE"),
        payloads.status(PNID, "wamid.RACE-OUT", "delivered", "15551234567"),
    )
    body = payloads.encode(batch)
    copies = [body, body, payloads.encode(batch | {"object": "whatsapp_business_account"}) + b" ", body]
    barrier = threading.Barrier(len(copies))
    errors = []

    def deliver(raw):
        try:
            barrier.wait()
            event_id, _ = storage.store(acme.pk, raw, ingest.Received(WebhookEvent.Signature.VALID, json.loads(raw)))
            ingest.process_event_id(event_id)
        except Exception as error:  # collected: a thread's exception would be lost
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(raw,)) for raw in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert connection.vendor == "postgresql"
    assert Message.objects.filter(wamid="wamid.RACE").count() == 1
    assert StatusUpdate.objects.filter(wamid="wamid.RACE-OUT").count() == 1
    assert WebhookEvent.objects.count() == 2  # the byte-different copy is its own event
    assert sum(WebhookEvent.objects.values_list("deliveries", flat=True)) == 4
    assert Message.objects.get(wamid="wamid.RACE").conversation.unread_count == 1
