"""An agent writes first: from an empty workspace to a customer who never wrote, with a
template that has an image header, named body parameters and a URL button, filled with a
live preview, and seen delivered and read (statuses from the fake Graph API)."""

import pytest
from playwright.sync_api import expect

from tests.support.browsing import log_in, wait_until_live
from tests.support.media_files import png
from tests.support.templates import TEMPLATES, add_templates
from tests.support.tenants import ACME
from whatsapp.models import Conversation, MessageTemplate, StatusUpdate

pytestmark = [pytest.mark.browser, pytest.mark.stack]

PNID = ACME["phone_number_id"]


@pytest.fixture
def welcome_offer(stack, acme):
    """Approved at Meta (the fake Graph API checks sends against it) and synced here."""
    add_templates(stack.fake, ACME["waba_id"], ["welcome_offer"])
    category, components, _ = TEMPLATES["welcome_offer"]
    return MessageTemplate.objects.create(
        tenant=acme,
        meta_id="1",
        name="welcome_offer",
        language="en_US",
        status="APPROVED",
        category=category,
        components=components,
    )


def sent_the_form(response):
    return response.request.method == "POST" and response.url.endswith("/t/acme/inbox/new/")


@pytest.fixture
def paced_statuses(stack):
    """Meta's statuses a few seconds apart, so the open thread shows each one as it comes."""
    before = stack.fake.status_delay
    stack.fake.status_delay = 3
    yield
    stack.fake.status_delay = before


def test_an_agent_reaches_a_customer_who_never_wrote_with_a_full_template(
    page, stack, agent, welcome_offer, paced_statuses
):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    expect(page.locator(".conversation-item")).to_have_count(0)

    page.click("#new-conversation-link")
    page.wait_for_url(f"{stack.url}/t/acme/inbox/new/")
    page.get_by_label("To").fill("+34 612 34 56 78")
    page.select_option("#template-select", label="welcome_offer (en_US, marketing)")
    page.get_by_label("Upload the image").set_input_files(
        files=[{"name": "offer.png", "mimeType": "image/png", "buffer": png(40, 30)}]
    )
    page.get_by_label("Body parameter {{first_name}}").fill("Ana")
    expect(page.locator("#preview-body")).to_have_text("Hi Ana, your {{discount}} discount is waiting.")
    page.get_by_label("Body parameter {{discount}}").fill("20%")
    page.get_by_label("URL button “See the offer” suffix").fill("spring-2027")
    expect(page.locator("#preview-body")).to_have_text("Hi Ana, your 20% discount is waiting.")
    expect(page.locator("#preview-header img")).to_be_visible()
    expect(page.locator("#preview-footer")).to_have_text("Reply STOP to opt out")
    expect(page.locator("#preview-buttons li")).to_have_text(["See the offer"])

    with page.expect_response(sent_the_form, timeout=30_000) as answer:
        page.get_by_role("button", name="Send and open the conversation").click()
    assert answer.value.status == 201, answer.value.text()
    page.wait_for_url(f"{stack.url}/t/acme/inbox/c/*/")
    wait_until_live(page)
    sent = page.locator("#messages .message.out")
    expect(sent).to_contain_text("Hi Ana, your 20% discount is waiting.")
    expect(sent.locator("img")).to_be_visible()
    expect(sent).to_have_attribute("data-status", "delivered", timeout=15_000)
    expect(sent).to_have_attribute("data-status", "read", timeout=15_000)
    expect(page.locator(".conversation-item")).to_have_count(1)

    [record] = stack.fake.sent_messages(PNID, to="34612345678")
    template = record["body"]["template"]
    assert [c["type"] for c in template["components"]] == ["header", "body", "button"]
    assert template["components"][0]["parameters"][0]["image"]["id"] == stack.fake.uploaded(PNID)[0]["media_id"]
    assert template["components"][1]["parameters"][0] == {"type": "text", "text": "Ana", "parameter_name": "first_name"}
    assert template["components"][2]["parameters"] == [{"type": "text", "text": "spring-2027"}]
    wamid = Conversation.objects.get().messages.get().wamid
    assert set(StatusUpdate.objects.filter(wamid=wamid).values_list("status", flat=True)) == {
        "sent",
        "delivered",
        "read",
    }


def test_a_wrong_value_is_named_on_the_page_and_nothing_is_sent(page, stack, agent, welcome_offer):
    log_in(page, stack, agent.email)
    page.goto(f"{stack.url}/t/acme/inbox/new/")
    page.get_by_label("To").fill("612 34 56 78")
    page.select_option("#template-select", label="welcome_offer (en_US, marketing)")
    page.get_by_label("Or give a link to the image").fill("https://cdn.example/offer.jpg")
    page.get_by_label("Body parameter {{first_name}}").fill("Ana")
    page.get_by_label("Body parameter {{discount}}").fill("20%")
    page.get_by_label("URL button “See the offer” suffix").fill("spring")
    page.get_by_role("button", name="Send and open the conversation").click()
    expect(page.locator("#template-error")).to_contain_text("612 34 56 78 has no country code")
    assert stack.fake.sent_messages(PNID) == []
    assert not Conversation.objects.exists()


def test_a_customer_inside_their_window_is_sent_to_their_thread(page, stack, agent, welcome_offer):
    stack.fake.customer_says(PNID, "34612345678", "Hola", name="Pat")
    log_in(page, stack, agent.email)
    expect(page.locator(".conversation-item", has_text="Pat")).to_be_visible()
    page.goto(f"{stack.url}/t/acme/inbox/new/")
    page.get_by_label("To").press_sequentially("Pa")
    expect(page.locator("#contact-choices option")).to_have_count(1)
    expect(page.locator("#contact-choices option")).to_have_attribute("value", "+34612345678")
    page.get_by_label("To").fill("+34 612 34 56 78")
    page.get_by_label("To").press("Tab")
    expect(page.locator("#to-status")).to_contain_text("Pat wrote in the last 24 hours: no template is needed.")
    page.click("#open-window-link")
    page.wait_for_url(f"{stack.url}/t/acme/inbox/c/{Conversation.objects.get().pk}/")
    expect(page.locator("#composer-text")).to_be_visible()
