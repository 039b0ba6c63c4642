"""Named fixtures: two tenants (acme, globex), an owner, an agent, an outsider; a fake
Graph API; signed webhooks through the real view; media in a temporary folder. The helpers
behind them, and the live stack's and browser's fixtures, live in tests/support/."""

import pytest
from django.test import Client

from tenants.models import Role
from tenants.setup import add_member, create_tenant
from tests.support.api import api_stack  # noqa: F401  (the API's live-stack fixture)
from tests.support.browsing import browser, new_page, page, stack  # noqa: F401  (the browser tests' fixtures)
from tests.support.flush import flush_despite_deadlocks
from tests.support.live import live_stack, live_stacks, no_live_stack, own_live_stack  # noqa: F401  (the live stacks)
from tests.support.parallel import make_scheduler, separate_channel_layers
from tests.support.production import run_manage
from tests.support.tenants import ACME, GLOBEX, PASSWORD
from tests.support.two_factor import verify_session
from tests.support.webhooks import WebhookPoster
from whatsapp.simulator.fake_graph import FakeGraphAPI


def pytest_configure(config):
    separate_channel_layers()
    flush_despite_deadlocks()


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook; its own implementation comes last
def pytest_xdist_make_scheduler(config, log):
    return make_scheduler(config, log)


@pytest.fixture
def acme(db):
    return create_tenant("acme", **ACME)


@pytest.fixture
def globex(db):
    return create_tenant("globex", **GLOBEX)


@pytest.fixture
def owner(acme):
    return add_member(acme, "owner@acme.test", role=Role.OWNER, password=PASSWORD).user


@pytest.fixture
def agent(acme):
    return add_member(acme, "agent@acme.test", role=Role.AGENT, password=PASSWORD).user


@pytest.fixture
def agent_membership(agent, acme):
    return agent.memberships.get(tenant=acme)


@pytest.fixture
def outsider(globex):
    """A member of another tenant, not of acme."""
    return add_member(globex, "outsider@globex.test", role=Role.OWNER, password=PASSWORD).user


@pytest.fixture
def agent_client(agent):
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture
def admin_client(admin_user):
    """pytest-django's superuser, logged in with a second factor, as Django admin requires."""
    client = Client()
    client.force_login(admin_user)
    verify_session(client, admin_user)
    return client


@pytest.fixture
def outsider_client(outsider):
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def webhook(acme):
    return WebhookPoster(Client(), "acme", ACME["app_secret"])


@pytest.fixture
def run_tasks():
    """Runs every task that is due, as a worker would, until none is left."""
    from django_tasks_db.models import DBTaskResult

    def run():
        ran = 0
        while True:
            result = DBTaskResult.objects.ready().order_by("enqueued_at").first()
            if result is None:
                return ran
            result.claim("test-worker")
            task = result.task
            try:
                task.call(*result.task_result.args, **result.task_result.kwargs)
                result.set_successful(None)
            except Exception as error:
                result.set_failed(error)
                raise
            ran += 1

    return run


@pytest.fixture
def fake_graph(settings):
    with FakeGraphAPI(status_delay=0.05) as fake:
        settings.WHATSAPP_GRAPH_URL = fake.url
        yield fake


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Local media storage in a folder of the test's own, never under var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def fast_forward():
    """Makes every waiting send due now, as if its backoff had passed."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from whatsapp.models import Message

    def forward():
        past = timezone.now() - timedelta(seconds=1)
        DBTaskResult.objects.filter(status="READY").update(run_after=past)
        Message.objects.filter(next_attempt_at__isnull=False).update(next_attempt_at=past)

    return forward


@pytest.fixture
def tenant_admin_client(acme):
    """A tenant admin of acme (not the owner; pytest-django's admin_client is a superuser)."""
    client = Client()
    client.force_login(add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD).user)
    return client


@pytest.fixture
def published(monkeypatch, db):
    """Call it to get the realtime events published since the last call, as (event, data). The
    test's transaction never commits, so it runs the after-commit callbacks itself, as a commit
    would."""
    from django.db import connection

    from whatsapp.realtime import events as realtime

    events, ran = [], len(connection.run_on_commit)

    from tests.support.realtime import events_in

    monkeypatch.setattr(realtime, "_group_send", lambda group, message: events.extend(events_in(message)))
    monkeypatch.setattr(realtime, "_listened", set)  # as if every workspace were watched

    def committed():
        nonlocal ran
        while ran < len(connection.run_on_commit):
            _, callback, _ = connection.run_on_commit[ran]
            ran += 1
            callback()
        new = events[:]
        events.clear()
        return new

    return committed


@pytest.fixture
def manage(tmp_path):
    """Runs `manage.py` in a process of its own with only the given variables (see
    tests/support/production.py), its VAR_DIR in the test's temporary folder."""

    def run(*args, **env):
        return run_manage(*args, var_dir=tmp_path / "var", **env)

    return run
