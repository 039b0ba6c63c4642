"""Redis goes away under the running inbox and comes back: webhooks are still stored and
processed, /healthz stays 200 and names the channel layer unavailable, the worker stays up,
and the page left open catches up with what it missed once Redis returns, then goes on live.
Redis is a server of the test's own (tests/support/servers.py), stopped and started at will."""

import os
import sys
import time

import httpx
import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.support.servers import (
    Process,
    RedisServer,
    database_url,
    free_port,
    no_live_workers,  # noqa: F401
    settings_test_environment,
)
from tests.support.tenants import ACME, PASSWORD
from tests.support.waiting import wait_for
from whatsapp.models import Message
from whatsapp.simulator import payloads

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The page's first reconnections come 2 and 4 s after its socket closes.
RECONNECT_SECONDS = 7


@pytest.fixture
def inbox(no_live_workers, acme, agent, tmp_path):  # noqa: F811
    """A web process and a plain worker on the test database, with a Redis of their own.
    Returns (url, redis, web, worker)."""
    redis = RedisServer(tmp_path).start()
    environment = settings_test_environment(
        database_url(connection.settings_dict), REDIS_URL=redis.url, CHANNELS_PREFIX=f"redis-outage-{os.getpid()}"
    )
    port = free_port()
    arguments = [sys.executable, "-m", "uvicorn", "inbox.asgi:application", "--port", str(port), "--no-access-log"]
    web = Process("web", arguments, environment, tmp_path).start()
    worker = Process.manage("worker", "db_worker", environment=environment, log_dir=tmp_path).start()
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: health(url).get("channel_layer") == "ok", 30), web.tail()
        yield url, redis, web, worker
    finally:
        web.stop()
        worker.stop()
        redis.stop()


def health(url):
    try:
        response = httpx.get(f"{url}/healthz", timeout=10)
    except httpx.HTTPError:
        return {}
    return response.json() | {"code": response.status_code}


def customer_writes(url, wa_id, name, text):
    payload = payloads.text_message(ACME["phone_number_id"], wa_id, text, name=name)
    assert payloads.deliver(f"{url}/webhooks/whatsapp/acme/", payload, ACME["app_secret"]).status_code == 200


def test_the_inbox_carries_on_without_redis_and_the_open_page_catches_up(inbox, page):
    url, redis, web, worker = inbox
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", "agent@acme.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/t/acme/inbox/")
    expect(page.locator('main.inbox[data-live="true"]')).to_be_attached()
    customer_writes(url, "15550000001", "Bea", "Before Redis went away")
    expect(page.locator(".conversation-item", has_text="Bea")).to_contain_text("Before Redis went away")

    redis.stop()
    assert wait_for(lambda: health(url).get("channel_layer") == "unavailable", 15), web.tail()
    assert health(url)["code"] == 200 and health(url)["status"] == "ok"
    expect(page.locator('main.inbox[data-live="false"]')).to_be_attached()  # the page was told
    customer_writes(url, "15550000002", "Dan", "While Redis was away")
    assert wait_for(lambda: Message.objects.filter(text="While Redis was away").exists(), 30), worker.tail()
    time.sleep(RECONNECT_SECONDS)  # the page tries to reconnect meanwhile, and is refused

    redis.start()  # on the same port
    assert wait_for(lambda: health(url).get("channel_layer") == "ok", 30), web.tail()
    # The open page reconnects and takes the lists again: the message it missed appears.
    expect(page.locator(".conversation-item", has_text="Dan")).to_contain_text("While Redis was away", timeout=40_000)
    expect(page.locator('main.inbox[data-live="true"]')).to_be_attached(timeout=40_000)
    customer_writes(url, "15550000003", "Eve", "After Redis came back")
    expect(page.locator(".conversation-item", has_text="Eve")).to_contain_text("After Redis came back")
    assert worker.alive and web.alive
    assert web.log.count("Lost Redis") == 1 and web.log.count("Redis answers again") == 1, web.tail()
    assert "Traceback" not in web.log, web.tail()
