"""The bars every page clears, in a real browser, with data on the pages: it fits a 390 px
phone, it logs no console error, and the JavaScript it loads stays under 100 KB gzipped; and an
agent can work a conversation with the keyboard alone (open, assign, answer, resolve)."""

import gzip

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browsing import customer_writes_and_agent_opens, log_in, wait_until_live
from tests.support.pages import ACCOUNT_PAGES, TENANT_PAGES
from tests.support.tenants import ACME
from whatsapp.models import Conversation, Message

pytestmark = [pytest.mark.browser, pytest.mark.stack]

PHONE = {"width": 390, "height": 844}
JAVASCRIPT_BUDGET = 100 * 1024  # bytes, gzipped, per page


def every_page(page, stack):
    """Visits each page (the open conversation first, with its interactive dialog open, and
    the login page last), yielding each one's name once it has loaded."""
    yield "conversation"
    page.click("#interactive-open")
    yield "conversation with the interactive dialog"
    contact = Conversation.objects.latest("pk").contact_id
    for path in [f"/t/acme/{path}" for path in TENANT_PAGES] + [f"/t/acme/contacts/{contact}/"] + ACCOUNT_PAGES:
        page.goto(f"{stack.url}{path}")
        if path.endswith("/inbox/"):
            wait_until_live(page)
        yield path
    page.context.clear_cookies()
    page.goto(f"{stack.url}/accounts/login/")
    yield "login"


def open_a_conversation_with_data(page, stack, user):
    log_in(page, stack, user.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Hello, is my order on its way?")
    page.fill("#composer-text", "It left this morning.")
    page.press("#composer-text", "Enter")
    expect(page.locator("#messages .message.out")).to_have_attribute("data-status", "read")


def test_every_page_fits_a_phone_and_logs_no_console_error(page, stack, owner):
    page.set_viewport_size(PHONE)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_a_conversation_with_data(page, stack, owner)
    wide, logged = {}, {}
    for name in every_page(page, stack):
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[name] = width
        if errors:
            logged[name] = list(errors)
            errors.clear()
    assert wide == {} and logged == {}, (wide, logged)


def test_no_page_loads_more_than_100_kb_of_javascript_gzipped(page, stack, owner):
    loaded = set()
    page.on("request", lambda request: loaded.add(request.url) if request.resource_type == "script" else None)
    open_a_conversation_with_data(page, stack, owner)
    sizes = {}
    for name in every_page(page, stack):
        page.wait_for_load_state("networkidle")
        # Static files need no session: fetched again here, compressed as a server would.
        sizes[name] = sum(len(gzip.compress(httpx.get(url).content)) for url in loaded)
        if not name.startswith("conversation"):
            loaded.clear()  # the dialog loads nothing more: the conversation's scripts count for both
    over = {name: size for name, size in sizes.items() if size > JAVASCRIPT_BUDGET}
    assert sizes["conversation"] > 0 and over == {}, sizes


def test_an_agent_opens_assigns_answers_and_resolves_a_conversation_with_the_keyboard_alone(page, stack, agent):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    stack.fake.customer_says(ACME["phone_number_id"], "15550002001", "Can I change my address?", name="Noor")
    expect(page.locator(".conversation-item", has_text="Noor")).to_be_visible()

    page.keyboard.press("j")  # opens the first conversation of the list
    page.wait_for_url(f"{stack.url}/t/acme/inbox/c/*/")
    wait_until_live(page)
    expect(page.locator(".thread-header h2")).to_have_text("Noor")
    page.keyboard.press("a")
    expect(page.locator("#conversation-meta")).to_contain_text(agent.display_name)
    page.keyboard.press("r")
    expect(page.locator("#composer-text")).to_be_focused()
    page.keyboard.type("Yes: reply with the new one.")
    page.keyboard.press("Enter")
    expect(page.locator("#messages .message.out")).to_have_attribute("data-status", "read")
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    expect(page.locator(".conversation-item", has_text="Noor")).to_have_count(0)

    conversation = Conversation.objects.get(contact__wa_id="15550002001")
    assert (conversation.status, conversation.assignee_id) == ("resolved", agent.pk)
    assert Message.objects.get(conversation=conversation, direction="out").text == "Yes: reply with the new one."


def test_the_interactive_dialog_works_with_the_keyboard_alone(page, stack, agent):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "What are my options?")
    page.locator("#interactive-open").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#interactive-kind")).to_be_focused()
    # Next in the tab order: the message text, the header, the footer, the buttons.
    for text in ["Choose one", "Returns", "Reply within 30 days", "Refund", "Exchange"]:
        page.keyboard.press("Tab")
        page.keyboard.type(text)
    page.keyboard.press("Enter")  # submits the dialog's form
    asked = page.locator("#messages .message.out", has_text="Choose one")
    expect(asked.locator(".interactive-choices li")).to_have_text(["Refund", "Exchange"])
