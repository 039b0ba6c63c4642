"""An agent's day in a real browser, on a laptop and on a phone: what broke for a new agent
stays fixed. The composer keeps its shape with an error or a file, "Send again" turns green
when it works, a reaction sits on its message, shortcuts are not typed into the reply, and a
text over WhatsApp's limit is refused with a message, never cut."""

import pytest
from playwright.sync_api import expect

from tests.support.browsing import customer_writes_and_agent_opens, log_in, wait_until_live
from tests.support.tenants import ACME
from whatsapp.message_types import TEXT_MAX

pytestmark = [pytest.mark.browser, pytest.mark.stack]

LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(params=[LAPTOP, PHONE], ids=["laptop", "phone"])
def screen(request, page):
    page.set_viewport_size(request.param)
    return request.param


def test_an_error_keeps_the_composer_and_send_on_screen(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Hello there")
    page.evaluate(
        "() => { const box = document.getElementById('composer-error');"
        " box.textContent = 'That file is not one WhatsApp accepts: a long explanation of why.'; box.hidden = false; }"
    )
    send = page.locator("#composer-send").bounding_box()
    text = page.locator("#composer-text").bounding_box()
    assert send["x"] + send["width"] <= screen["width"]
    assert text["width"] > 100  # the reply box is not squeezed to a sliver
    assert page.evaluate("document.documentElement.scrollWidth") <= screen["width"]


def test_send_again_turns_a_failed_message_into_a_read_one_without_a_reload(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Are you open?")
    stack.fake.script_error(ACME["phone_number_id"], code=131026, message="Message undeliverable", times=1)
    page.fill("#composer-text", "Yes, until six.")
    page.press("#composer-text", "Enter")
    reply = page.locator("#messages .message.out")
    expect(reply).to_have_attribute("data-status", "failed")
    reply.locator("button.resend").click()
    expect(reply).to_have_attribute("data-status", "read")
    expect(reply).not_to_have_class("failed")


def test_a_sent_message_offers_reply_once_whatsapp_has_it(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Can I change my order?")
    page.fill("#composer-text", "Of course, what should change?")
    page.press("#composer-text", "Enter")
    reply = page.locator("#messages .message.out")
    expect(reply).to_have_attribute("data-status", "read")  # the ticks events, sent first
    expect(reply).not_to_have_attribute("data-wamid", "")
    reply.hover()
    expect(reply.locator("[data-action=reply]")).to_be_visible()


def test_the_agents_late_answer_never_hides_a_failure_that_came_live_first(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Are you open?")
    stack.fake.script_error(ACME["phone_number_id"], code=131026, message="Message undeliverable", times=1)
    held = []  # the send's answer (the message as queued), kept back until the failure is on screen
    page.route("**/inbox/c/*/send/", lambda route: held.append((route, route.fetch())))
    page.fill("#composer-text", "Yes, until six.")
    page.press("#composer-text", "Enter")
    reply = page.locator("#messages .message.out")
    expect(reply).to_have_attribute("data-status", "failed")
    [(route, answer)] = held
    route.fulfill(response=answer)
    expect(page.locator("#composer-text")).to_have_value("")  # the composer has read the answer
    expect(reply).to_have_attribute("data-status", "failed")
    reply.locator("button.resend").click()
    expect(reply).to_have_attribute("data-status", "read")


def test_a_reaction_sits_on_its_message_and_adds_no_bubble(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Thanks for the help!")
    incoming = page.locator("#messages .message.in")
    incoming.hover()
    incoming.locator("[data-action=react]").click()
    page.locator("#reaction-picker button[data-emoji='👍']").click()
    expect(incoming.locator(".reactions")).to_contain_text("👍")
    # The reaction's own send and its ticks must not show up as a message of their own.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#messages .message')].every(m => m.dataset.type !== 'reaction')"
    )
    expect(page.locator("#messages .message.out")).to_have_count(0)
    page.reload()
    expect(page.locator("#messages .message.out")).to_have_count(0)
    expect(page.locator("#messages .message.in .reactions")).to_contain_text("👍")


def test_opening_a_conversation_leaves_the_keys_to_the_shortcuts(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "First question")
    assert page.evaluate("document.activeElement.id") != "composer-text"
    page.keyboard.press("a")  # assign to me, not an "a" in the reply
    expect(page.locator("#conversation-meta")).to_have_attribute("data-assignee", str(agent.pk))
    expect(page.locator("#composer-text")).to_have_value("")
    page.keyboard.press("r")  # r asks for the reply box
    assert page.evaluate("document.activeElement.id") == "composer-text"


def test_a_text_over_the_limit_is_refused_with_a_message_and_kept(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Send me the whole contract")
    too_long = "x" * (TEXT_MAX + 10)
    page.fill("#composer-text", too_long)
    counter = page.locator("#composer-count")
    expect(counter).to_be_visible()
    expect(counter).to_contain_text("10 characters over")
    page.press("#composer-text", "Enter")
    expect(page.locator("#composer-error")).to_contain_text("longer than")
    expect(page.locator("#composer-text")).to_have_value(too_long)  # nothing dropped
    expect(page.locator("#messages .message.out")).to_have_count(0)


def test_the_reply_placeholder_fits_its_box(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Hi")
    fits = page.evaluate(
        """() => {
          const box = document.getElementById('composer-text');
          const probe = document.createElement('span');
          const style = getComputedStyle(box);
          probe.style.font = style.font;
          probe.style.whiteSpace = 'nowrap';
          probe.style.position = 'absolute';
          probe.style.display = 'inline-block';
          probe.textContent = box.placeholder;
          document.body.appendChild(probe);
          const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          const width = probe.getBoundingClientRect().width;
          probe.remove();
          return [width, room];
        }"""
    )
    assert fits[0] <= fits[1], fits


def test_every_page_fits_a_phone(page, stack, owner):
    page.set_viewport_size(PHONE)
    log_in(page, stack, owner.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Hello from my phone")
    wide = {}
    for path in [
        "",
        "contacts/",
        "search/?q=hello",
        "dashboard/",
        "logs/",
        "logs/graph/",
        "settings/",
        "members/",
        "security/",
        "audit/",
        "templates/",
    ]:
        if path:
            page.goto(f"{stack.url}/t/acme/{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path or "conversation"] = width
    assert wide == {}


def test_counts_follow_new_and_assigned_conversations_live(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    all_count = page.locator('.segmented [data-filter="all"] .count')
    mine = page.locator('.segmented [data-filter="mine"] .count')
    expect(all_count).to_have_text("0")
    stack.fake.customer_says(ACME["phone_number_id"], "15550001001", "First", name="Ida")
    stack.fake.customer_says(ACME["phone_number_id"], "15550001002", "Second", name="Jo")
    expect(page.locator(".conversation-item")).to_have_count(2)
    expect(all_count).to_have_text("2")
    page.locator(".conversation-item", has_text="Jo").click()
    wait_until_live(page)
    page.keyboard.press("a")
    expect(page.locator('.segmented [data-filter="mine"] .count')).to_have_text("1")
    expect(mine).to_have_text("1")


def test_resolving_moves_on_to_the_next_conversation_and_reopen_brings_it_back(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    stack.fake.customer_says(ACME["phone_number_id"], "15550001003", "Older", name="Kim")
    expect(page.locator(".conversation-item", has_text="Kim")).to_be_visible()
    stack.fake.customer_says(ACME["phone_number_id"], "15550001004", "Newer", name="Lou")
    expect(page.locator(".conversation-item", has_text="Lou")).to_be_visible()
    page.locator(".conversation-item", has_text="Lou").click()
    wait_until_live(page)
    page.keyboard.press("e")
    expect(page.locator(".thread-header h2")).to_have_text("Kim")  # the next one, opened
    expect(page.locator(".conversation-item", has_text="Lou")).to_have_count(0)  # gone from Open
    page.goto(f"{stack.url}/t/acme/inbox/?status=resolved")
    page.locator(".conversation-item", has_text="Lou").click()
    wait_until_live(page)
    reopen = page.locator("[data-action=reopen]")
    expect(reopen).to_be_visible()
    reopen.click()
    expect(page.locator("#conversation-meta")).to_have_attribute("data-status", "open")
    expect(page.locator("[data-action=resolve]")).to_be_visible()
    expect(page.locator(".contact-panel li[data-conversation-id] .status-name")).to_have_text("Open")
