"""Media end to end: the shared live stack (Daphne and a task worker on the test database),
the fake Graph API in this process, and an agent in headless Chromium. A customer's photo appears in
the thread without a reload; the agent's photo is uploaded to Meta and sent by media id.

Plain sync tests on purpose: Playwright's sync API refuses to run inside an event loop.
"""

import hashlib

import pytest
from playwright.sync_api import expect

from tests.support.browsing import log_in, open_conversation, wait_until_live
from tests.support.media_files import png
from tests.support.tenants import ACME
from tests.support.waiting import wait_until
from whatsapp.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.stack]

PNID = ACME["phone_number_id"]
CUSTOMER = "15551230000"
WAIT_MS = 10_000


@pytest.fixture(autouse=True)
def _agent(agent):
    """The agent who logs in; `page` and `stack` are the shared browser fixtures."""
    return agent


def log_in_and_open_the_conversation(page, stack):
    stack.fake.customer_says(PNID, CUSTOMER, "Hello, I have a question", name="Carla")
    wait_until(lambda: Message.objects.filter(text="Hello, I have a question").exists(), message="Not stored")
    log_in(page, stack, "agent@acme.test")
    wait_until_live(page)
    open_conversation(page, stack, page.locator(".conversation-item", has_text="Carla"))


def image_loaded(image):
    return image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_a_customers_photo_appears_in_the_thread_without_a_reload(page, stack):
    log_in_and_open_the_conversation(page, stack)
    page.evaluate("window.notReloaded = true")

    stack.fake.customer_sends_media(
        PNID, CUSTOMER, "image", png(8, 6), "image/png", name="Carla", caption="The broken part"
    )

    photo = page.locator(".message.in .media-thumb img")
    expect(photo).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".message.in", has_text="The broken part")).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth === 8", arg=photo.element_handle())
    assert page.evaluate("window.notReloaded") is True
    photo.click()  # the full-size viewer
    expect(page.locator("#media-viewer[open] img")).to_be_visible()


def test_the_agent_sends_a_photo_that_is_uploaded_and_sent_by_media_id(page, stack):
    log_in_and_open_the_conversation(page, stack)

    page.set_input_files("#composer-file", files=[{"name": "shelf.png", "mimeType": "image/png", "buffer": png(5, 5)}])
    expect(page.locator("#composer-attachment")).to_contain_text("shelf.png")
    page.fill("#composer-text", "This is the one")
    page.click("#composer button[type=submit]")

    sent_photo = page.locator(".message.out .media-thumb img")
    expect(sent_photo).to_be_visible(timeout=WAIT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth === 5", arg=sent_photo.element_handle())
    expect(page.locator(".message.out", has_text="This is the one")).to_be_visible()
    expect(page.locator("#composer-attachment")).to_be_hidden()
    expect(page.locator(".message.out .ticks-read")).to_be_attached(timeout=WAIT_MS)

    [upload] = stack.fake.uploaded(PNID)
    [sent] = stack.fake.sent_messages(PNID)
    assert sent["body"]["type"] == "image"
    assert sent["body"]["image"] == {"id": upload["media_id"], "caption": "This is the one"}
    assert stack.fake.media[upload["media_id"]]["data"] == png(5, 5)


def test_a_file_whatsapp_refuses_is_explained_in_the_composer_before_any_upload(page, stack):
    log_in_and_open_the_conversation(page, stack)

    page.set_input_files(
        "#composer-file", files=[{"name": "tools.zip", "mimeType": "application/zip", "buffer": b"PK\x03\x04zip"}]
    )

    expect(page.locator("#composer-error")).to_contain_text("WhatsApp cannot send tools.zip")
    expect(page.locator("#composer-attachment")).to_be_hidden()
    assert stack.fake.uploaded() == []


def test_a_file_can_be_dropped_on_the_thread_or_pasted(page, stack):
    log_in_and_open_the_conversation(page, stack)
    make_file = "name => { const t = new DataTransfer(); t.items.add(new File(['%PDF-1.4'], name, {type: 'application/pdf'})); return t; }"

    page.evaluate(f"""() => {{
        const transfer = ({make_file})("dropped.pdf");
        document.querySelector("section.thread").dispatchEvent(
            new DragEvent("drop", {{dataTransfer: transfer, bubbles: true, cancelable: true}}));
    }}""")
    expect(page.locator("#composer-attachment")).to_contain_text("dropped.pdf")

    page.evaluate(f"""() => {{
        const transfer = ({make_file})("pasted.pdf");
        document.getElementById("composer-text").dispatchEvent(
            new ClipboardEvent("paste", {{clipboardData: transfer, bubbles: true, cancelable: true}}));
    }}""")
    expect(page.locator("#composer-attachment")).to_contain_text("pasted.pdf")
    page.keyboard.press("Enter")
    expect(page.locator(".message.out .document-card", has_text="pasted.pdf")).to_be_visible(timeout=WAIT_MS)


def test_a_failed_download_shows_why_and_retry_brings_the_photo(page, stack):
    from whatsapp.simulator import payloads

    log_in_and_open_the_conversation(page, stack)
    photo = png(7, 7)
    media_id = stack.fake.add_media(photo, "image/png", PNID)
    kept = stack.fake.media.pop(media_id)  # Meta does not have it, for now
    image = {"id": media_id, "mime_type": "image/png", "sha256": hashlib.sha256(photo).hexdigest()}
    payload = payloads.message(PNID, CUSTOMER, "image", image, name="Carla")
    payloads.deliver(f"{stack.url}/webhooks/whatsapp/acme/", payload, ACME["app_secret"])

    expect(page.locator(".message.in .media-error")).to_contain_text(
        "Ask the customer to send it again", timeout=WAIT_MS
    )
    stack.fake.media[media_id] = kept
    page.click(".message.in button.media-retry")
    expect(page.locator(".message.in .media-thumb img")).to_be_visible(timeout=WAIT_MS)
