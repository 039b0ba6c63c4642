"""The webhook while PostgreSQL goes away and comes back, on a cluster of the test's own
(tests/support/servers.py: initdb in a temporary folder, stopped and started mid-flow): 503
quickly while it is down, never 200 for what was not stored; Meta's next retry stored within
seconds of its return, and nothing stored twice."""

import asyncio
import os
import subprocess
import time

import httpx
import psycopg
import pytest
from django.db import connection

from tests.support.servers import PostgresCluster
from tests.support.tenants import ACME
from whatsapp.simulator import payloads
from whatsapp.webhook import storage
from whatsapp.webhook.asgi import WebhookEndpoint
from whatsapp.webhook.ingest import process_webhook_event

pytestmark = pytest.mark.slow

BIN = PostgresCluster.BIN
POOL_FILLERS = 6
DOWN_SECONDS = 10
DOWN_ANSWER_SECONDS = 2.5  # WEBHOOK_POOL_TIMEOUT (1.5 s) and then some
BACK_WITHIN_SECONDS = 3  # the pool alone, after a 10 s outage, took 3.5 s here; after longer ones, far more


@pytest.fixture
def cluster(transactional_db, acme):
    """Our own PostgreSQL holding a copy of the test database (acme included)."""
    if os.geteuid() != 0 or not (BIN / "initdb").exists() or connection.vendor != "postgresql":
        pytest.skip("Needs root, PostgreSQL 15's initdb, and PostgreSQL as the test database.")
    cluster = PostgresCluster().start()
    try:
        copy = cluster.create_database("inbox")
        source = connection.settings_dict
        dump = subprocess.run(
            [BIN / "pg_dump", "--no-owner", "-h", source["HOST"] or "127.0.0.1", "-p", str(source["PORT"] or 5432)]
            + ["-U", source["USER"] or "postgres", source["NAME"]],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [BIN / "psql", "-q", "-v", "ON_ERROR_STOP=1", copy], input=dump.stdout, check=True, capture_output=True
        )
        yield cluster
    finally:
        cluster.remove()


def signed(payload):
    body = payloads.encode(payload)
    return body, {"X-Hub-Signature-256": payloads.sign(body, ACME["app_secret"])}


def test_the_webhook_answers_503_while_postgresql_is_down_and_stores_the_retry_once_it_is_back(cluster, monkeypatch):
    monkeypatch.setattr(storage, "database_conninfo", lambda: cluster.url("inbox"))
    first = [signed(customer_text(f"before {index}")) for index in range(POOL_FILLERS)]
    during = signed(customer_text("during"))

    async def post(client, body_and_headers):
        started = time.monotonic()
        body, headers = body_and_headers
        response = await client.post("/webhooks/whatsapp/acme/", content=body, headers=headers)
        return response.status_code, time.monotonic() - started

    async def outage():
        endpoint = WebhookEndpoint(None)  # one endpoint, as in a running server
        transport = httpx.ASGITransport(app=endpoint)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                # At once, so the pool opens several connections, all of which will die.
                stored = await asyncio.gather(*(post(client, body) for body in first))
                await asyncio.to_thread(cluster.stop)
                down, down_since = [], time.monotonic()
                while time.monotonic() - down_since < DOWN_SECONDS:  # long enough for the pool's backoff to grow
                    down.append(await post(client, during))
                await asyncio.to_thread(cluster.start)
                back_at, retries = time.monotonic(), []
                while time.monotonic() - back_at < BACK_WITHIN_SECONDS + 10:
                    retries.append(await post(client, during))  # Meta's retries
                    if retries[-1][0] == 200:
                        break
                    await asyncio.sleep(0.25)  # Meta's retry cadence here: four a second
                back_after = time.monotonic() - back_at
                again = await asyncio.gather(*(post(client, body) for body in first))  # Meta's duplicates
                return stored, down, back_after, retries, again
        finally:
            await endpoint.close()

    stored, down, back_after, retries, again = asyncio.run(outage())
    assert {status for status, _ in stored} == {200}
    assert {status for status, _ in down} == {503}
    assert max(seconds for _, seconds in down) < DOWN_ANSWER_SECONDS, down
    assert retries[-1][0] == 200 and back_after < BACK_WITHIN_SECONDS, (back_after, retries)
    assert {status for status, _ in again} == {200}
    with psycopg.connect(cluster.url("inbox")) as database:
        deliveries = database.execute("SELECT deliveries FROM whatsapp_webhookevent ORDER BY id").fetchall()
        tasks = database.execute(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE task_path = %s",
            (process_webhook_event.module_path,),
        ).fetchone()[0]
    assert [row[0] for row in deliveries] == [2] * POOL_FILLERS + [1]
    assert tasks == POOL_FILLERS + 1


def customer_text(text):
    return payloads.text_message(ACME["phone_number_id"], "15551234567", text)
