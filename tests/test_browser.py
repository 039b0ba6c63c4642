"""An agent in headless Chromium, the real web server and worker, and a simulated customer.

Plain sync tests on purpose: Playwright's sync API refuses to run inside an event loop.
"""

import time

import pytest
from playwright.sync_api import expect

from tests.support.browsing import (
    CUSTOMER,
    customer_writes_and_agent_opens,
    log_in,
    open_conversation,
    sent_texts,
    wait_until_live,
)
from tests.support.tenants import ACME

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def test_an_agent_chats_with_a_customer_live(page, stack, agent, tmp_path):
    log_in(page, stack, agent.email)
    expect(page).to_have_url(f"{stack.url}/t/acme/inbox/")
    wait_until_live(page)

    stack.fake.customer_says(ACME["phone_number_id"], CUSTOMER, "Hello from WhatsApp 👋", name="Carla")
    item = page.locator(".conversation-item", has_text="Carla")
    expect(item.locator(".preview")).to_have_text("Hello from WhatsApp 👋")
    expect(item.locator(".badge")).to_have_text("1")
    open_conversation(page, stack, item)
    expect(page.locator("#messages .message.in .text")).to_have_text("Hello from WhatsApp 👋")

    page.fill("#composer-text", "Hi Carla, how can we help?")
    page.press("#composer-text", "Enter")
    reply = page.locator("#messages .message.out")
    expect(reply).to_contain_text("Hi Carla, how can we help?")
    expect(reply).to_have_attribute("data-status", "read")

    assert sent_texts(stack) == ["Hi Carla, how can we help?"]
    page.screenshot(path=tmp_path / "browser-chat.png", full_page=True)


def test_shift_enter_makes_a_new_line_and_enter_sends(page, stack, agent):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Can you write two lines?")

    composer = page.locator("#composer-text")
    composer.press_sequentially("First line")
    composer.press("Shift+Enter")
    composer.press_sequentially("second line")
    expect(composer).to_have_value("First line\nsecond line")
    composer.press("Enter")

    reply = page.locator("#messages .message.out")
    expect(reply.locator(".text")).to_have_text("First line\nsecond line", use_inner_text=True)  # <br>
    expect(composer).to_have_value("")
    # Wait for the last status, so no webhook is still on its way when the test's data goes.
    expect(reply).to_have_attribute("data-status", "read")
    assert sent_texts(stack) == ["First line\nsecond line"]


def test_a_closed_window_disables_the_composer(page, stack, agent):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Are you there?", timestamp=time.time() - 25 * 3600)

    expect(page.locator("#messages .message.in .text")).to_have_text("Are you there?")
    expect(page.locator(".thread-header .window")).to_have_text("24-hour window closed")
    expect(page.locator(".window-closed-note")).to_be_visible()
    # No reply box: only a private note can be written, after choosing the Note tab.
    expect(page.locator("#composer-text")).to_be_hidden()
    expect(page.locator("#template-picker")).to_be_visible()


OPEN_SOCKET = """path => new Promise(resolve => {
  let opened = false;
  const socket = new WebSocket(`ws://${location.host}${path}`);
  socket.onopen = () => { opened = true; setTimeout(() => socket.close(1000), 300); };
  socket.onclose = event => resolve({opened, code: event.code});
})"""


def test_an_outsider_cannot_open_a_websocket(page, stack, outsider):
    log_in(page, stack, outsider.email)
    expect(page).to_have_url(f"{stack.url}/t/globex/inbox/")
    wait_until_live(page)  # the page's own socket to globex is open

    assert page.evaluate(OPEN_SOCKET, "/ws/t/globex/") == {"opened": True, "code": 1000}
    # Closing before accept makes Daphne refuse the handshake (HTTP 403), which a browser
    # reports as 1006; a socket closed after accept would show 4403 instead.
    refused = page.evaluate(OPEN_SOCKET, "/ws/t/acme/")
    assert refused["opened"] is False and refused["code"] in (1006, 4403)
