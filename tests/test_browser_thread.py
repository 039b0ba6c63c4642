"""A long thread in the browser: it opens on its latest messages, earlier ones load in place
when the agent scrolls up or follows the link, new messages still arrive live, and an old
link to a message far back opens the page that holds it, and what is written there shows
on the latest page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.support.browsing import CUSTOMER, log_in, wait_until_live
from tests.support.tenants import ACME
from whatsapp.models import Contact, Conversation, Message

pytestmark = [pytest.mark.browser, pytest.mark.stack]

MESSAGES = 120  # the thread shows 50 at a time: a latest page and two earlier ones


@pytest.fixture
def long_thread(acme):
    contact = Contact.objects.create(tenant=acme, wa_id=CUSTOMER, profile_name="Carla")
    conversation = Conversation.objects.create(tenant=acme, contact=contact, phone_number=acme.phone_numbers.get())
    start = timezone.now() - timedelta(hours=3)
    Message.objects.bulk_create(
        Message(
            tenant=acme,
            conversation=conversation,
            direction="in",
            text=f"message {i}",
            wamid=f"wamid.LONG{i}",
            status="delivered",
            timestamp=start + timedelta(minutes=i),
        )
        for i in range(MESSAGES)
    )
    return conversation


def test_earlier_messages_load_in_place_and_new_ones_still_arrive(page, stack, agent, long_thread):
    log_in(page, stack, agent.email)
    thread_url = f"{stack.url}/t/acme/inbox/c/{long_thread.pk}/"
    page.goto(thread_url)
    wait_until_live(page)
    messages = page.locator("#messages .message")
    expect(messages).to_have_count(50)
    expect(messages.last).to_contain_text(f"message {MESSAGES - 1}")

    # Scrolling to the top brings the page before, above what was shown, without leaving.
    page.locator("#messages").evaluate("thread => { thread.scrollTop = 0; }")
    expect(messages).to_have_count(100)
    expect(messages.first).to_contain_text("message 20")
    assert page.locator("#messages").evaluate("thread => thread.scrollTop") > 0  # the reader keeps their place

    # The link does the same; the first page has no link.
    page.locator("#thread-earlier a").click()
    expect(messages).to_have_count(MESSAGES)
    expect(messages.first).to_contain_text("message 0")
    expect(page.locator("#thread-earlier")).to_have_count(0)
    assert page.url == thread_url

    stack.fake.customer_says(ACME["phone_number_id"], CUSTOMER, "Still there?", name="Carla")
    expect(messages.last).to_contain_text("Still there?")
    expect(messages).to_have_count(MESSAGES + 1)


def test_an_old_link_to_a_message_far_back_opens_its_page(page, stack, agent, long_thread):
    old = Message.objects.get(conversation=long_thread, text="message 10")
    log_in(page, stack, agent.email)
    page.goto(f"{stack.url}/t/acme/inbox/c/{long_thread.pk}/#message-{old.pk}")
    page.wait_for_url(f"**/?at={old.pk}#message-{old.pk}")
    expect(page.locator(f"#message-{old.pk}")).to_be_in_viewport()
    expect(page.locator("#thread-later a").first).to_have_text("Later messages")

    # A note written there is shown where it belongs: on the latest page.
    page.click(".composer .tab[data-mode=note]")
    page.fill("#composer-text", "asked about the old order")
    page.press("#composer-text", "Enter")
    page.wait_for_url(f"**/inbox/c/{long_thread.pk}/?")
    expect(page.locator("#messages .note-item").last).to_contain_text("asked about the old order")
    expect(page.locator("#thread-later")).to_have_count(0)
