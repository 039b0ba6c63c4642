"""Abuse and load against the real stack (Daphne and a worker on this machine's loopback):
a webhook flood from 20 concurrent clients, a password-guessing flood, oversized bodies.
Every loop is bounded in count and time."""

import asyncio
import re
import time

import httpx
import pytest

from tenants.models import AuditEvent
from tests.support.browsing import serving_acme, wait_until_idle
from tests.support.tenants import ACME, PASSWORD
from tests.support.waiting import wait_until
from whatsapp.models import Message, WebhookEvent
from whatsapp.simulator import payloads

pytestmark = [pytest.mark.load, pytest.mark.stack]

PNID = ACME["phone_number_id"]
WEBHOOKS = 400
RESENT = 40  # Meta's retries of bodies already sent
CLIENTS = 20
SEND_SECONDS = 30
DRAIN_SECONDS = 180  # generous: other work may share this machine's two cores
GUESSES = 100


async def post_all(url, bodies, clients=CLIENTS):
    """POST every body, `clients` connections at a time; returns the statuses."""
    queue = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    statuses = []

    async def worker():
        async with httpx.AsyncClient(timeout=20) as client:
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post(
                    url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": payloads.sign(body, ACME["app_secret"]),
                    },
                )
                statuses.append(response.status_code)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return statuses


@pytest.fixture
def stack(request, own_live_stack, transactional_db, acme):
    """A stack of the test's own: a flood, and a worker started and stopped for it."""
    live = own_live_stack()
    with serving_acme(request, live):
        yield live


@pytest.fixture
def second_worker(stack):
    """Scaling out is more workers: one more for the flood, stopped after it."""
    stack.stack.start_worker("load-worker")
    yield
    wait_until_idle(DRAIN_SECONDS)
    worker = stack.stack.processes.pop("load-worker")
    worker.terminate()  # finishes the task in hand, then stops
    worker.wait(10)


def test_a_webhook_flood_is_answered_and_every_message_stored_exactly_once(stack, second_worker):
    bodies = [
        payloads.encode(payloads.text_message(PNID, f"1555{number % 50:07d}", f"load message {number}", name="Load"))
        for number in range(WEBHOOKS)
    ]
    started = time.monotonic()
    statuses = asyncio.run(post_all(f"{stack.url}/webhooks/whatsapp/acme/", bodies + bodies[:RESENT]))
    elapsed = time.monotonic() - started

    assert statuses == [200] * (WEBHOOKS + RESENT)
    assert elapsed < SEND_SECONDS, f"{WEBHOOKS + RESENT} webhooks took {elapsed:.1f} s"
    stored = Message.objects.filter(tenant__slug="acme", text__startswith="load message ")
    wait_until(
        lambda: stored.count() >= WEBHOOKS and not WebhookEvent.objects.filter(state="pending").exists(),
        timeout=DRAIN_SECONDS,
        message=lambda: f"{stored.count()} of {WEBHOOKS} stored",
        interval=0.25,
    )
    texts = list(stored.values_list("text", flat=True))
    assert sorted(texts) == sorted(f"load message {number}" for number in range(WEBHOOKS))  # none lost, none twice
    assert WebhookEvent.objects.filter(state="processed").count() == WEBHOOKS
    assert sum(WebhookEvent.objects.values_list("deliveries", flat=True)) == WEBHOOKS + RESENT


def login_form(client, url):
    page = client.get(f"{url}/accounts/login/")
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]


def attempt(client, url, token, email, password):
    return client.post(
        f"{url}/accounts/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/accounts/login/"},
    )


def test_a_password_guessing_flood_is_throttled_and_others_still_log_in(stack, owner, agent, settings):
    async def guess(count):
        statuses = []

        async def one_client(times):
            async with httpx.AsyncClient(timeout=20) as client:
                page = await client.get(f"{stack.url}/accounts/login/")
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
                for _ in range(times):
                    response = await client.post(
                        f"{stack.url}/accounts/login/",
                        data={"username": owner.email, "password": "guess", "csrfmiddlewaretoken": token},
                    )
                    statuses.append(response.status_code)

        await asyncio.gather(*(one_client(count // 10) for _ in range(10)))
        return statuses

    started = time.monotonic()
    statuses = asyncio.run(guess(GUESSES))
    assert time.monotonic() - started < SEND_SECONDS
    assert len(statuses) == GUESSES and set(statuses) <= {200, 429}, sorted(set(statuses))
    assert statuses.count(429) >= GUESSES - 2 * settings.AXES_FAILURE_LIMIT
    assert 500 not in statuses

    with httpx.Client(timeout=10) as same_address:  # locked: even the right password
        token = login_form(same_address, stack.url)
        assert attempt(same_address, stack.url, token, owner.email, PASSWORD).status_code == 429
    with httpx.Client(timeout=10) as colleague:  # another person at the same address
        token = login_form(colleague, stack.url)
        response = attempt(colleague, stack.url, token, agent.email, PASSWORD)
        assert response.status_code == 302 and response.headers["location"] == "/"
    other_address = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(timeout=10, transport=other_address) as at_home:  # the owner from elsewhere
        token = login_form(at_home, stack.url)
        response = attempt(at_home, stack.url, token, owner.email, PASSWORD)
        assert response.status_code == 302 and response.headers["location"] == "/"
    # The audit log holds the failures up to the lockout and the lockout once, not the flood.
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 1
    assert AuditEvent.objects.filter(action="auth.login_failed").count() < 2 * settings.AXES_FAILURE_LIMIT


def test_oversized_webhook_bodies_are_refused_chunked_or_not_and_the_server_carries_on(stack, settings):
    url = f"{stack.url}/webhooks/whatsapp/acme/"
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    with httpx.Client(timeout=30) as client:
        declared = client.post(url, content=b"x" * (limit + 1), headers={"Content-Type": "application/json"})
        assert declared.status_code == 413

        def chunks():  # no Content-Length: Transfer-Encoding: chunked
            for _ in range(6):
                yield b"x" * (1024 * 1024)

        chunked = client.post(url, content=chunks(), headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413
        big_login = client.post(
            f"{stack.url}/accounts/login/",
            content=b"a=" + b"x" * (128 * 1024),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert big_login.status_code == 413
        assert client.get(f"{stack.url}/healthz").status_code == 200
    assert not WebhookEvent.objects.exists()
