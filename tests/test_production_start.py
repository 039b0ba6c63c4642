"""The documented production start (docs/deploying.md), end to end: `.env.example` filled in
with DEBUG off, `migrate`, `collectstatic` into VAR_DIR, `schedule_maintenance`, a tenant and
its owner from the set-up commands, Uvicorn as documented, a plain `db_worker`, and a person
in a real browser. The page is styled (every stylesheet and script is served, under the
manifest's hashed names), and a customer's message reaches the open inbox live: the plain
worker processes webhooks. Its own database, Redis and folder; nothing of the test settings."""

import os
import re
import sys

import httpx
import psycopg
import pytest
from django.contrib.staticfiles import finders
from playwright.sync_api import expect

from tests.support.servers import BASE_DIR, Process, RedisServer, database_url, free_port, run_manage
from tests.support.waiting import wait_for
from whatsapp.simulator import payloads

TENANT = {
    "name": "Northwind",
    "waba-id": "NORTHWIND_WABA",
    "phone-number-id": "333000333",
    "display-phone-number": "15550003333",
    "access-token": "northwind-access-token-0123456789",
    "app-secret": "northwind-app-secret-0123456789",
    "verify-token": "northwind-verify-token",
}
OWNER, PASSWORD = "owner@northwind.test", "correct-horse-battery-staple"
HASHED = re.compile(r"/static/.+\.[0-9a-f]{12}\.(css|js|svg)$")


def env_example():
    """`.env.example` as `.env` holds it once copied: every setting, most with their default."""
    settings = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip()
    return settings


@pytest.fixture
def database():
    """A new, empty database on the test run's PostgreSQL server, dropped afterwards."""
    from django.db import connection

    name = f"{connection.settings_dict['NAME']}_production"
    server = database_url(connection.settings_dict | {"NAME": "postgres"})
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield database_url(connection.settings_dict | {"NAME": name})
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def production(database, tmp_path):
    """The deploy steps and the processes of docs/deploying.md; the web server's URL."""
    redis = RedisServer(tmp_path).start()
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        **env_example(),
        # What an operator fills in: secrets, the database, Redis, the host; a folder of its own.
        "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
        "FIELD_ENCRYPTION_KEYS": "U1LxUMpXKIyKLTgjnQ5uVmYakfkugSK6vmkbcjoENxI=",
        "DATABASE_URL": database,
        "REDIS_URL": redis.url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "VAR_DIR": str(tmp_path / "var"),
        # No TLS proxy in front here; and nothing leaves the machine for Meta.
        "SECURE_SSL_REDIRECT": "false",
        "WHATSAPP_GRAPH_URL": "http://127.0.0.1:9",
    }
    run_manage("migrate", "--noinput", environment=environment)
    run_manage("collectstatic", "--noinput", environment=environment)
    run_manage("schedule_maintenance", environment=environment)
    run_manage(
        "create_tenant", "northwind", *[f"--{name}={value}" for name, value in TENANT.items()], environment=environment
    )
    run_manage("add_member", "northwind", OWNER, "--role", "owner", "--password", PASSWORD, environment=environment)
    port = free_port()
    web = Process(
        "web",
        [sys.executable, "-m", "uvicorn", "inbox.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
        + ["--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio", "--no-access-log"],
        environment,
        tmp_path,
    ).start()
    worker = Process.manage("worker", "db_worker", environment=environment, log_dir=tmp_path).start()
    url = f"http://127.0.0.1:{port}"
    try:
        every_queue_worked = lambda: {q["state"] for q in _health(url).get("queues", {}).values()} == {"ok"}  # noqa: E731
        assert wait_for(every_queue_worked, 60), f"{web.tail()}\n{worker.tail()}"
        yield url
    finally:
        web.stop()
        redis.stop()
        assert worker.stop() == 0, worker.tail()


def _health(url):
    try:
        return httpx.get(f"{url}/healthz", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return {}


def test_every_static_file_a_template_names_exists():
    """With DEBUG off, a name missing from collectstatic's manifest is an error page."""
    names = set()
    for template in (BASE_DIR / "templates").rglob("*.html"):
        names |= set(re.findall(r"{% static '([^']+)' %}", template.read_text()))
    assert names and not [name for name in sorted(names) if finders.find(name) is None]


@pytest.mark.browser
@pytest.mark.stack
@pytest.mark.slow
def test_the_documented_production_start_serves_a_styled_live_inbox(production, page, tmp_path):
    broken = []
    page.on(
        "response", lambda response: broken.append((response.status, response.url)) if response.status >= 400 else None
    )
    page.on("requestfailed", lambda request: broken.append(("failed", request.url)))
    scripts = []
    page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)

    page.goto(f"{production}/accounts/login/")
    page.fill("#id_username", OWNER)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{production}/t/northwind/inbox/")
    expect(page.locator('main.inbox[data-live="true"]')).to_be_attached()  # the script ran, the socket is open

    # Styled: the stylesheets' rules apply (a header is a block and a main a block, unstyled).
    assert page.eval_on_selector("header.topbar", "e => getComputedStyle(e).display") == "flex"
    assert page.eval_on_selector("main.inbox", "e => getComputedStyle(e).display") == "grid"
    assets = page.eval_on_selector_all(
        "link[rel=stylesheet], link[rel=icon], script[src]", "es => es.map(e => e.href || e.src)"
    )
    assert len(assets) >= 4 and all(HASHED.search(asset) for asset in assets), assets
    assert page.evaluate("[...document.styleSheets].every(sheet => sheet.cssRules.length > 0)")
    # The inbox's ES modules import one another under the manifest's hashed names too.
    assert any("/js/inbox/" in script for script in scripts), scripts
    assert all(HASHED.search(script) for script in scripts), scripts
    served = httpx.get(assets[0], headers={"Accept-Encoding": "gzip"})
    assert served.headers["content-encoding"] == "gzip" and "immutable" in served.headers["cache-control"]

    # A customer writes: the worker started with no options processes the webhook, live.
    payload = payloads.text_message(TENANT["phone-number-id"], "15551230000", "Is my order on its way?", name="Carla")
    response = payloads.deliver(f"{production}/webhooks/whatsapp/northwind/", payload, TENANT["app-secret"])
    assert response.status_code == 200
    expect(page.locator(".conversation-item", has_text="Carla")).to_contain_text("Is my order on its way?")
    page.screenshot(path=tmp_path / "browser-production.png")
    assert broken == []
