"""A real customer, played by the simulator (the fake Graph API), in a real browser on a laptop
and on a phone: a photo, a document, a voice note, a place, a contact card and a reaction all
reach the open thread live, drawn as what they are; the agent sends reply buttons or a list
from the composer, the customer taps one, and the agent sees the tap as the answer to that
message."""

import pytest
from playwright.sync_api import expect

from tests.support.browsing import CUSTOMER, customer_writes_and_agent_opens, log_in, wait_until_live
from tests.support.media_files import OGG_VOICE, PDF, png
from tests.support.tenants import ACME
from whatsapp.simulator import payloads

pytestmark = [pytest.mark.browser, pytest.mark.stack]

PNID = ACME["phone_number_id"]
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(params=[LAPTOP, PHONE], ids=["laptop", "phone"])
def screen(request, page):
    page.set_viewport_size(request.param)
    return request.param


def agent_replies(page, stack, text):
    page.fill("#composer-text", text)
    page.press("#composer-text", "Enter")
    expect(page.locator("#messages .message.out", has_text=text)).to_have_attribute("data-status", "read")
    return stack.fake.sent_messages(PNID, CUSTOMER)[-1]["wamid"]


def test_every_kind_of_customer_message_reaches_the_open_thread_live(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Hello, my order arrived damaged")
    ours = agent_replies(page, stack, "Sorry to hear that! Could you show me?")
    thread = page.locator("#messages")

    stack.fake.customer_sends_media(PNID, CUSTOMER, "image", png(8, 6), "image/png", name="Carla", caption="The box")
    expect(thread.locator(".message.in .media-thumb img")).to_be_visible()
    stack.fake.customer_sends_media(
        PNID, CUSTOMER, "document", PDF, "application/pdf", name="Carla", filename="receipt.pdf"
    )
    expect(thread.locator(".message.in .document-name")).to_have_text("receipt.pdf")
    stack.fake.customer_sends_media(
        PNID, CUSTOMER, "audio", OGG_VOICE, "audio/ogg; codecs=opus", name="Carla", voice=True
    )
    expect(thread.locator(".message.in .media-audio")).to_contain_text("Voice note")
    stack.fake.customer_shares_location(
        PNID, CUSTOMER, 38.7075, -9.1365, place_name="Praça do Comércio", address="Lisboa"
    )
    expect(thread.locator(".message.in .location-card")).to_contain_text("Praça do Comércio")
    stack.fake.customer_shares_contacts(PNID, CUSTOMER, [payloads.contact_card("João Silva", "+351 912 345 678")])
    expect(thread.locator(".message.in .contact-card")).to_contain_text("João Silva")
    stack.fake.customer_reacts(PNID, CUSTOMER, ours, "🙏")

    reply = thread.locator(".message.out", has_text="Could you show me?")
    expect(reply.locator(".reactions")).to_have_text("🙏")
    expect(thread.locator('.message[data-type="reaction"]')).to_have_count(0)  # on the message, not a bubble
    assert page.evaluate("document.documentElement.scrollWidth") <= screen["width"]


def open_interactive(page):
    page.click("#interactive-open")
    expect(page.locator("#interactive-dialog")).to_be_visible()


def test_the_customer_taps_the_agents_reply_button_and_the_agent_sees_which(page, stack, agent, screen):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Can I book a visit?")

    open_interactive(page)
    page.select_option("#interactive-kind", "buttons")
    page.fill("#interactive-body", "Which day suits you?")
    page.fill("#interactive-button-1", "Monday")
    page.fill("#interactive-button-2", "Tuesday")
    page.click("#interactive-send")
    expect(page.locator("#interactive-dialog")).to_be_hidden()
    asked = page.locator("#messages .message.out", has_text="Which day suits you?")
    expect(asked.locator(".interactive-choices li")).to_have_text(["Monday", "Tuesday"])
    expect(asked).to_have_attribute("data-status", "read")
    assert page.evaluate("document.documentElement.scrollWidth") <= screen["width"]

    stack.fake.customer_taps(PNID, CUSTOMER, asked.get_attribute("data-wamid"), "Tuesday")

    tap = page.locator("#messages .message.in", has=page.locator(".reply-card"))
    expect(tap.locator(".reply-card")).to_contain_text("Tapped a button")
    expect(tap.locator(".reply-card .text")).to_have_text("Tuesday")
    expect(tap.locator(".quote")).to_contain_text("Which day suits you?")  # the message it answers


def test_a_list_a_refusal_naming_its_field_then_the_customers_choice(page, stack, agent):
    page.set_viewport_size(PHONE)
    log_in(page, stack, agent.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Which sizes do you have?")

    open_interactive(page)
    page.select_option("#interactive-kind", "list")
    page.fill("#interactive-body", "Pick a size")
    page.fill("#interactive-list-button", "Sizes")
    page.click("#interactive-send")
    expect(page.locator("#interactive-error")).to_contain_text("at least one row")
    expect(page.locator("#interactive-rows")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#interactive-rows")).to_be_focused()
    page.fill("#interactive-rows", "# Shirts\nMedium | Chest 100 cm\nLarge | Chest 108 cm")
    page.click("#interactive-send")
    asked = page.locator("#messages .message.out", has_text="Pick a size")
    expect(asked).to_have_attribute("data-status", "read")

    stack.fake.customer_taps(PNID, CUSTOMER, asked.get_attribute("data-wamid"), "Large")

    card = page.locator("#messages .message.in .reply-card")
    expect(card).to_contain_text("Chose from the list")
    expect(card).to_contain_text("Chest 108 cm")
