"""Shared pieces of the browser tests: Chromium, a logged-in page, the live stack with
acme's number, and helpers that read like the steps a person takes."""

from contextlib import contextmanager

import pytest
from playwright.sync_api import expect, sync_playwright

from .tenants import ACME, PASSWORD
from .waiting import wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
CUSTOMER = "15551230000"
# Run in every page before its own scripts: marks <html data-resynchronised> once inbox.js has
# taken the lists again. It does when the websocket opens, and may then replace the lists the
# page was rendered with: a click whose press and release land on two copies of a link goes
# nowhere. (An attribute, as the CSP forbids the eval behind a wait_for_function.)
MARK_RESYNCHRONISED = (
    "document.addEventListener('inbox:resynchronised', () => {"
    " document.documentElement.dataset.resynchronised = 'true'; });"
)

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser():
    """Chromium for this module only. While Playwright's sync API is active, Django sees its
    event loop as running and refuses ORM calls, though every call here is plain sync code:
    allow them for this module, and stop Playwright before the next module's tests."""
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Pages in separate browser contexts: separate people, with separate sessions."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        context.set_default_timeout(10_000)
        context.add_init_script(MARK_RESYNCHRONISED)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def stack(request, live_stack, transactional_db, acme):
    """The shared live stack with acme's number registered; the processes' logs follow a failure."""
    with serving_acme(request, live_stack):
        yield live_stack


@contextmanager
def serving_acme(request, live):
    """For a `stack` fixture (a module may define one on a stack of its own): acme's number
    registered with the fake Graph API for the test, the processes' logs printed after a
    failure, and the worker left idle before the test's data is flushed."""
    live.fake.reset()
    live.fake.register_number(
        ACME["phone_number_id"],
        f"{live.url}/webhooks/whatsapp/acme/",
        ACME["app_secret"],
        access_token=ACME["access_token"],
    )
    failures = request.session.testsfailed
    yield live
    if request.session.testsfailed > failures:
        print(live.stack.log_tails())
    live.fake.reset()  # no more status webhooks for this test's sends: they would land mid-flush
    wait_until_idle()


def log_in(page, stack, email):
    page.goto(f"{stack.url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/t/*/inbox/")


def wait_until_live(page):
    """The inbox page listens for events and has taken the lists again once: from now on only
    events change them."""
    expect(page.locator('main.inbox[data-live="true"]')).to_be_attached()
    expect(page.locator("html[data-resynchronised]")).to_be_attached()


def open_conversation(page, stack, item):
    item.click()
    page.wait_for_url(f"{stack.url}/t/acme/inbox/c/*/")
    wait_until_live(page)  # status updates for a reply must not be missed


def customer_writes_and_agent_opens(page, stack, text, **kwargs):
    """The customer writes, the row appears live, the agent opens the conversation."""
    stack.fake.customer_says(ACME["phone_number_id"], CUSTOMER, text, name="Carla", **kwargs)
    open_conversation(page, stack, page.locator(".conversation-item", has_text="Carla"))


def sent_texts(stack):
    return [record["body"]["text"]["body"] for record in stack.fake.sent_messages(ACME["phone_number_id"], CUSTOMER)]


def wait_until_idle(seconds=30):
    """Let the worker finish what the test started before its data is flushed away under it."""
    from django_tasks_db.models import DBTaskResult

    tasks = DBTaskResult.objects.exclude(task_path__endswith="maintain_delivery")
    wait_until(
        lambda: not (tasks.ready().exists() or tasks.filter(status="RUNNING").exists()),
        timeout=seconds,
        message=lambda: f"The worker still has {tasks.filter(status__in=['READY', 'RUNNING']).count()} tasks",
    )
