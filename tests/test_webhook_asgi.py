"""The webhook endpoint (whatsapp/webhook/asgi.py) driven through the ASGI application, as a
server runs it: on PostgreSQL it stores through its own async pool.

The behaviour tests test_webhook.py runs through the URLconf's view (on Django's connection)
run here again: both inherit them from tests/support/webhook_behaviour.py. The pool's
connections see only committed rows, so these tests use transactional_db."""

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from django.db import connection

from tests.support import webhook_behaviour
from tests.support.tenants import ACME, GLOBEX
from tests.support.webhook_behaviour import customer_text
from whatsapp.models import Message, WebhookEvent, WebhookReject
from whatsapp.simulator import payloads
from whatsapp.webhook import asgi as webhook_asgi
from whatsapp.webhook import storage

PNID = ACME["phone_number_id"]


class AsgiPoster:
    """Posts signed bodies through the ASGI application, as Daphne or Uvicorn would."""

    def __init__(self, slug, app_secret):
        self.slug, self.app_secret = slug, app_secret

    def post(self, payload, *, signature="sign", path=None, method="POST", **headers):
        body = payload if isinstance(payload, bytes) else payloads.encode(payload)
        headers = {key.removeprefix("HTTP_").replace("_", "-"): value for key, value in headers.items()}
        headers["Content-Type"] = "application/json"
        if signature == "sign":
            headers["X-Hub-Signature-256"] = payloads.sign(body, self.app_secret)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        url = path or f"/webhooks/whatsapp/{self.slug}/"
        return asyncio.run(request(method, url, content=body, headers=headers))


async def request(method, url, **kwargs):
    """One request through a fresh endpoint in front of Django (its pool closed after)."""
    from inbox.asgi import django_asgi_app

    app = webhook_asgi.WebhookEndpoint(django_asgi_app)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, url, **kwargs)
    finally:
        await app.close()


@pytest.fixture
def webhook(no_live_stack, transactional_db, acme):
    return AsgiPoster("acme", ACME["app_secret"])


class TestSignaturesThroughAsgi(webhook_behaviour.Signatures):
    pass


class TestExactlyOnceThroughAsgi(webhook_behaviour.ExactlyOnce):
    pass


class TestBadInputThroughAsgi(webhook_behaviour.BadInput):
    pass


def test_the_asgi_application_answers_the_webhook_url_before_django():
    from inbox.asgi import application

    assert isinstance(application.application_mapping["http"], webhook_asgi.WebhookEndpoint)


def test_a_stored_event_and_its_task_are_what_the_worker_expects(webhook, run_tasks):
    assert webhook.post(customer_text("Hi", name="Ada")).status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.state, event.fields, event.item_counts, event.deliveries) == (
        "pending",
        "messages",
        {"messages": 1},
        1,
    )
    assert run_tasks() == 1
    assert Message.objects.get().text == "Hi"
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


def test_messages_are_processed_before_statuses(webhook):
    from django_tasks_db.models import DBTaskResult

    webhook.post(payloads.status(PNID, "wamid.X", "delivered", "15551234567"))
    webhook.post(customer_text("first in line"))
    assert [task.priority for task in DBTaskResult.objects.ready()] == [10, 0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no NOTIFY: workers poll")
def test_only_events_with_customers_messages_wake_the_workers(webhook):
    """Statuses come by the hundred a second; workers busy with them take the next anyway."""
    import psycopg
    from django_tasks_db.models import DBTaskResult

    from whatsapp.jobs.backend import CHANNEL

    with psycopg.connect(storage.database_conninfo(), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        webhook.post(payloads.status(PNID, "wamid.X", "delivered", "15551234567"))
        webhook.post(customer_text("wake up"))
        announced = [notification.payload for notification in listener.notifies(timeout=1)]
    message_task = DBTaskResult.objects.get(priority=10)
    assert announced == [f"webhooks:{message_task.pk}:10"]  # its priority wakes the workers' lane too


def test_300_unsigned_posts_racing_on_the_pool_make_one_row_and_lose_no_count(webhook, monkeypatch, settings):
    """Every pool connection writes, as separate processes would."""
    from inbox.asgi import django_asgi_app

    settings.WEBHOOK_POOL_TIMEOUT = 60  # 300 posts queue for 8 connections: a wait, not an outage

    monkeypatch.setattr(storage, "REJECT_WRITERS", settings.WEBHOOK_POOL_SIZE)
    monkeypatch.setattr(storage, "this_minute", lambda: datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    body = b'{"pad": "' + b"x" * (16 * 1024 - 11) + b'"}'

    async def post_all_at_once():
        app = webhook_asgi.WebhookEndpoint(django_asgi_app)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                posts = [client.post("/webhooks/whatsapp/acme/", content=body) for _ in range(300)]
                return [response.status_code for response in await asyncio.gather(*posts)]
        finally:
            await app.close()

    assert asyncio.run(post_all_at_once()) == [401] * 300
    assert not WebhookEvent.objects.exists()
    reject = WebhookReject.objects.get()
    assert (reject.missing, reject.invalid, len(reject.sample), reject.sample_size) == (300, 0, 4096, 16 * 1024)


def test_an_unknown_or_inactive_tenant_is_404(webhook, acme):
    assert AsgiPoster("nobody", ACME["app_secret"]).post(customer_text()).status_code == 404
    acme.active = False
    acme.save()
    assert webhook.post(customer_text()).status_code == 404
    assert not WebhookEvent.objects.exists()


def test_each_tenant_checks_its_own_secret(webhook, globex):
    assert AsgiPoster("globex", GLOBEX["app_secret"]).post(customer_text()).status_code == 200
    assert AsgiPoster("globex", ACME["app_secret"]).post(customer_text()).status_code == 403
    assert WebhookEvent.objects.filter(tenant=globex).count() == 1
    assert WebhookReject.objects.get(tenant=globex).invalid == 1


def test_a_declared_length_over_the_cap_is_413_before_reading(webhook, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    assert webhook.post(customer_text()).status_code == 413
    assert not WebhookEvent.objects.exists()


def test_a_bad_content_length_is_400(acme, transactional_db):
    async def post():
        app = webhook_asgi.WebhookEndpoint(None)
        try:
            return await app.receive_webhook("acme", {b"content-length": b"many"}, None)
        finally:
            await app.close()

    assert asyncio.run(post()) == (400, "Bad Content-Length header.")


def failing_store(monkeypatch, error):
    """The store of whichever database the endpoint uses (the pool, or Django's on SQLite)."""

    async def store(*args):
        raise error

    monkeypatch.setattr(type(storage.for_this_process()), "store", store)


def test_a_database_failure_is_500_so_meta_retries(webhook, monkeypatch):
    failing_store(monkeypatch, OSError("the disk is full"))
    response = webhook.post(customer_text())
    assert response.status_code == 500
    assert response.json() == {"error": "Could not store the update; please retry."}
    assert not WebhookEvent.objects.exists()


def test_an_unreachable_database_is_503_so_meta_retries(webhook, monkeypatch):
    failing_store(monkeypatch, storage.Unavailable("connection refused"))
    response = webhook.post(customer_text())
    assert response.status_code == 503
    assert response.json() == {"error": "The database is unavailable; please retry."}


def test_the_handshake_and_other_methods_are_answered_too(webhook):
    query = f"hub.mode=subscribe&hub.verify_token={ACME['verify_token']}&hub.challenge=42"
    response = asyncio.run(request("GET", f"/webhooks/whatsapp/acme/?{query}"))
    assert (response.status_code, response.text) == (200, "42")
    wrong = query.replace(ACME["verify_token"], "nope")
    assert asyncio.run(request("GET", f"/webhooks/whatsapp/acme/?{wrong}")).status_code == 403
    assert asyncio.run(request("GET", "/webhooks/whatsapp/nobody/?hub.mode=subscribe")).status_code == 404
    refused = asyncio.run(request("PUT", "/webhooks/whatsapp/acme/"))
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, POST")


def test_other_urls_still_reach_django(webhook):
    assert asyncio.run(request("GET", "/accounts/login/")).status_code == 200


def test_a_host_django_refuses_is_still_refused(webhook):
    response = webhook.post(customer_text(), Host="evil.example")
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_changed_app_secret_applies_to_the_next_webhook(webhook, acme):
    """One endpoint, as in a running server: the secret is read once and cached; a body
    signed with a new secret makes it read the secret again."""
    from inbox.asgi import django_asgi_app

    new_secret = "acme-new-app-secret-987654321"
    body = payloads.encode(customer_text())

    async def post_before_and_after_the_change():
        app = webhook_asgi.WebhookEndpoint(django_asgi_app)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                url = "/webhooks/whatsapp/acme/"
                old = await client.post(
                    url, content=body, headers={"X-Hub-Signature-256": payloads.sign(body, ACME["app_secret"])}
                )
                await asyncio.to_thread(change_secret)
                other = payloads.encode(customer_text("after"))
                new = await client.post(
                    url, content=other, headers={"X-Hub-Signature-256": payloads.sign(other, new_secret)}
                )
                return old.status_code, new.status_code
        finally:
            await app.close()

    def change_secret():
        from django.db import connection

        acme.whatsapp.app_secret = new_secret
        acme.whatsapp.save()
        connection.close()  # this thread's connection, back to the pool

    assert asyncio.run(post_before_and_after_the_change()) == (200, 200)


def test_a_tenant_replaced_under_the_same_slug_is_read_again(webhook, acme):
    """Tests (and admins) can delete a tenant and make another with its slug within seconds."""
    from inbox.asgi import django_asgi_app
    from tenants.setup import create_tenant

    async def post_twice():
        app = webhook_asgi.WebhookEndpoint(django_asgi_app)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                answers = []
                for text in ("before", "after"):
                    body = payloads.encode(customer_text(text))
                    headers = {"X-Hub-Signature-256": payloads.sign(body, ACME["app_secret"])}
                    answers.append(
                        (await client.post("/webhooks/whatsapp/acme/", content=body, headers=headers)).status_code
                    )
                    if text == "before":
                        await asyncio.to_thread(replace_tenant)
                return answers
        finally:
            await app.close()

    def replace_tenant():
        from django.db import connection

        acme.delete()
        create_tenant("acme", **ACME)
        connection.close()

    assert asyncio.run(post_twice()) == [200, 200]
    assert WebhookEvent.objects.get().tenant.slug == "acme"


def store_at_once(items):
    """PooledDatabase.store for each (tenant id, body) at once, as concurrent posts would:
    the answers (or errors) in order, and the sizes of the groups committed together."""
    groups = []

    async def store_all():
        database = storage.PooledDatabase()
        together = database._store_together

        async def counted(params_list):
            groups.append(len(params_list))
            return await together(params_list)

        database._store_together = counted
        try:
            stores = [
                database.store(tenant_id, body, received_for(body, ACME["app_secret"])) for tenant_id, body in items
            ]
            return await asyncio.gather(*stores, return_exceptions=True)
        finally:
            await database.close()

    return asyncio.run(store_all()), groups


def received_for(body, secret):
    from whatsapp.webhook import ingest

    return ingest.Received.read(secret, body, payloads.sign(body, secret))


def test_bodies_arriving_together_are_committed_together_each_once(webhook, acme):
    from django_tasks_db.models import DBTaskResult

    bodies = [payloads.encode(customer_text(f"Hello {n}")) for n in range(60)]
    answers, groups = store_at_once([(acme.pk, body) for body in bodies + bodies[:20]])

    assert groups and max(groups) > 1 and sum(groups) == 80
    assert [is_new for _, is_new in answers] == [True] * 60 + [False] * 20
    assert [event_id for event_id, _ in answers[60:]] == [event_id for event_id, _ in answers[:20]]
    events = WebhookEvent.objects.filter(tenant=acme)
    assert events.count() == 60 and sum(events.values_list("deliveries", flat=True)) == 80
    assert DBTaskResult.objects.count() == 60  # a task for each new event, none for a repeat


def test_a_body_that_fails_in_a_group_fails_alone(webhook, acme):
    """A tenant deleted after its id was read breaks the group's commit (its foreign key):
    the others are stored one by one, and that one is TenantGone, for the endpoint to read
    the tenant again."""
    bodies = [payloads.encode(customer_text(f"Hello {n}")) for n in range(10)]
    items = [(acme.pk, body) for body in bodies]
    items[4] = (acme.pk + 1000, bodies[4])
    answers, groups = store_at_once(items)

    assert groups == [10]
    assert isinstance(answers[4], storage.TenantGone)
    assert all(isinstance(answer, tuple) and answer[1] for n, answer in enumerate(answers) if n != 4)
    assert WebhookEvent.objects.filter(tenant=acme).count() == 9
