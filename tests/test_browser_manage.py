"""Letting the business speak first, in the browser against the fake Graph API: an admin
creates a template that Meta's review approves and an agent then sends; a customer who opted
out is refused a marketing template with the reason; STOP opts out and is confirmed; an owner
adds a second number and the inbox filters by it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tenants.models import Role
from tenants.setup import add_member
from tests.support.browsing import log_in, open_conversation, wait_until_live
from tests.support.tenants import ACME, PASSWORD
from whatsapp.models import Contact, Message, MessageTemplate

pytestmark = [pytest.mark.browser, pytest.mark.stack]

PNID = ACME["phone_number_id"]
WABA = ACME["waba_id"]
SECOND = "333000333"


@pytest.fixture
def live(stack):
    """The stack, with acme's number in acme's WhatsApp Business Account at the fake (account
    webhooks such as template reviews go to the account's numbers)."""
    stack.fake.register_number(
        PNID,
        f"{stack.url}/webhooks/whatsapp/acme/",
        ACME["app_secret"],
        waba_id=WABA,
        access_token=ACME["access_token"],
    )
    return stack


@pytest.fixture
def owner_user(acme):
    return add_member(acme, "olga@acme.test", role=Role.OWNER, password=PASSWORD, name="Olga").user


@pytest.fixture
def agent_user(acme):
    return add_member(acme, "ann@acme.test", role=Role.AGENT, password=PASSWORD, name="Ann").user


def test_a_template_is_created_approved_by_meta_and_sent(new_page, live, owner_user, agent_user, tmp_path):
    admin_page = new_page()
    log_in(admin_page, live, owner_user.email)
    admin_page.goto(f"{live.url}/t/acme/templates/new/")
    admin_page.fill("#tpl-name", "order_ready")
    admin_page.select_option("#tpl-category", "UTILITY")
    admin_page.fill("#tpl-body", "Hi {{1}}, your order {{2}} is ready for pickup.")
    admin_page.fill("#tpl-body-examples", "Ann\n#1042")
    admin_page.fill("#tpl-footer", "Acme shop")
    admin_page.click(".template-form button[type=submit]")
    admin_page.wait_for_url(f"{live.url}/t/acme/templates/")
    expect(admin_page.locator("main.templates-page[data-live=true]")).to_be_attached()
    row = admin_page.locator("tr", has_text="order_ready")
    expect(row.locator(".state")).to_have_text("pending")

    # Meta approves it: its webhook reaches the worker, and the page says so without a reload.
    template = MessageTemplate.objects.get(name="order_ready")
    assert live.fake.review_template(template.meta_id, "APPROVED")
    expect(row.locator(".state")).to_have_text("approved")
    expect(admin_page.locator("#template-announcement")).to_have_text("Template order_ready is now approved.")
    admin_page.screenshot(path=tmp_path / "browser-templates.png", full_page=True)

    # An agent can now send it to a customer whose window has closed.
    page = new_page()
    log_in(page, live, agent_user.email)
    wait_until_live(page)
    live.fake.customer_says(
        PNID, "15550000011", "Is it ready?", name="Ida", timestamp=timezone.now() - timedelta(hours=26)
    )
    open_conversation(page, live, page.locator(".conversation-item", has_text="Ida"))
    page.select_option("#template-select", label="order_ready (en_US, utility)")
    page.get_by_label("Body parameter {{1}}").fill("Ida")
    page.get_by_label("Body parameter {{2}}").fill("#77")
    expect(page.locator("#preview-body")).to_have_text("Hi Ida, your order #77 is ready for pickup.")
    page.click("#template-send")
    expect(page.locator("#messages .message.out")).to_contain_text("Hi Ida, your order #77 is ready for pickup.")
    expect(page.locator("#messages .message.out")).to_have_attribute("data-status", "read")
    assert live.fake.sent_messages(PNID)[0]["body"]["template"]["name"] == "order_ready"


def test_a_rejection_shows_with_its_reason_live(new_page, live, owner_user, acme):
    template = MessageTemplate.objects.create(
        tenant=acme, meta_id="0", name="x", language="en_US", status="PENDING", category="MARKETING"
    )
    meta_id = live.fake.add_template(WABA, "spring_sale", "Sale!", status="PENDING", category="MARKETING")
    MessageTemplate.objects.filter(pk=template.pk).update(meta_id=meta_id, name="spring_sale")
    page = new_page()
    log_in(page, live, owner_user.email)
    page.goto(f"{live.url}/t/acme/templates/")
    expect(page.locator("main.templates-page[data-live=true]")).to_be_attached()
    live.fake.review_template(
        meta_id, "REJECTED", reason="INVALID_FORMAT", rejection_info={"reason": "The body needs more words."}
    )
    row = page.locator("tr", has_text="spring_sale")
    expect(row.locator(".state")).to_have_text("rejected")
    expect(row.locator(".template-reason")).to_have_text("INVALID_FORMAT — The body needs more words.")


def test_an_opted_out_customer_is_refused_a_marketing_template_with_the_reason(new_page, live, agent_user, acme):
    MessageTemplate.objects.create(
        tenant=acme,
        meta_id="2",
        name="spring_sale",
        language="en_US",
        status="APPROVED",
        category="MARKETING",
        components=[{"type": "BODY", "text": "Spring sale: 20% off everything this week."}],
    )
    page = new_page()
    log_in(page, live, agent_user.email)
    wait_until_live(page)
    live.fake.customer_says(PNID, "15550000012", "Hello", name="Jo", timestamp=timezone.now() - timedelta(hours=30))
    open_conversation(page, live, page.locator(".conversation-item", has_text="Jo"))

    # The agent records that Jo said on the phone she wants no more offers.
    page.click(".contact-consent-edit summary")
    page.click(".contact-opt-out-form button")
    expect(page.locator(".contact-consent")).to_contain_text("Opted out")

    page.select_option("#template-select", label="spring_sale (en_US, marketing)")
    page.click("#template-send")
    refusal = page.locator("#composer #template-error")
    expect(refusal).to_contain_text("Jo opted out of marketing messages")
    expect(refusal).to_contain_text("spring_sale is a marketing template")
    assert not Message.objects.filter(direction="out").exists()
    assert live.fake.sent_messages(PNID) == []


def test_stop_opts_out_and_the_customer_gets_the_confirmation(new_page, live, agent_user, acme):
    page = new_page()
    log_in(page, live, agent_user.email)
    wait_until_live(page)
    live.fake.customer_says(PNID, "15550000013", "Hi there", name="Kim")
    open_conversation(page, live, page.locator(".conversation-item", has_text="Kim"))
    expect(page.locator(".contact-consent")).to_contain_text("No opt-in recorded")

    live.fake.customer_says(PNID, "15550000013", "Stop", name="Kim")
    confirmation = page.locator("#messages .message.out", has_text=acme.opt_out_reply)
    expect(confirmation).to_be_visible()
    expect(confirmation).to_have_attribute("data-status", "read")
    expect(page.locator(".contact-consent")).to_contain_text("Opted out")
    expect(page.locator(".contact-consent")).to_contain_text('keyword "Stop"')
    assert Contact.objects.get(wa_id="15550000013").marketing_opted_out
    [sent] = live.fake.sent_messages(PNID, "15550000013")
    assert sent["body"]["text"]["body"] == acme.opt_out_reply


def test_an_owner_adds_a_second_number_and_the_inbox_filters_by_it(new_page, live, owner_user, tmp_path):
    live.fake.add_account_number(
        WABA,
        SECOND,
        "15550003333",
        webhook_url=f"{live.url}/webhooks/whatsapp/acme/",
        app_secret=ACME["app_secret"],
        verified_name="Acme Support",
        pin="246810",
        access_token=ACME["access_token"],
    )
    page = new_page()
    log_in(page, live, owner_user.email)
    page.goto(f"{live.url}/t/acme/numbers/")
    row = page.locator(f"tr[data-phone-number-id='{SECOND}']")
    expect(row).to_contain_text("Acme Support")
    row.get_by_label("Two-step PIN").fill("246810")
    row.get_by_role("button", name="Add to workspace").click()
    expect(page.locator(".flash")).to_contain_text("+15550003333 is in the workspace")
    expect(row).to_contain_text("Yes")
    page.screenshot(path=tmp_path / "browser-numbers.png", full_page=True)

    page.goto(f"{live.url}/t/acme/inbox/")
    wait_until_live(page)
    live.fake.customer_says(PNID, "15550000021", "To the main line", name="Lea")
    live.fake.customer_says(SECOND, "15550000022", "To support", name="Max")
    expect(page.locator(".conversation-item")).to_have_count(2)

    page.select_option("#filter-number", label="+15550003333 · Acme Support")
    page.wait_for_url("**/inbox/?*number=*")
    wait_until_live(page)
    expect(page.locator(".conversation-item")).to_have_count(1)
    expect(page.locator(".conversation-item")).to_contain_text("Max")
    # A new message to the other number stays out of this list, live too.
    live.fake.customer_says(PNID, "15550000023", "Another for the main line", name="Ned")
    live.fake.customer_says(SECOND, "15550000024", "Another for support", name="Ola")
    expect(page.locator(".conversation-item", has_text="Ola")).to_be_visible()
    expect(page.locator(".conversation-item", has_text="Ned")).to_have_count(0)
    expect(page.locator("[data-filter=all] .count")).to_have_text("2")
