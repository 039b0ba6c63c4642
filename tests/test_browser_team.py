"""Two agents of one tenant, in two browsers, work a queue together and see each other's
changes live: assign, quote, react, note, fall back to a template, resolve."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tenants.models import Role
from tenants.setup import add_member
from tests.support.browsing import log_in, open_conversation, wait_until_live
from tests.support.tenants import ACME, PASSWORD
from whatsapp.models import CannedResponse, Label, Message, MessageTemplate

pytestmark = [pytest.mark.browser, pytest.mark.stack]

PNID = ACME["phone_number_id"]


@pytest.fixture
def team(acme):
    ann = add_member(acme, "ann@acme.test", role=Role.AGENT, password=PASSWORD, name="Ann").user
    bob = add_member(acme, "bob@acme.test", role=Role.AGENT, password=PASSWORD, name="Bob").user
    return ann, bob


def test_two_agents_split_and_work_a_queue_live(new_page, stack, team, acme):
    ann_page, bob_page = new_page(), new_page()
    Label.objects.create(tenant=acme, name="Billing")
    for page, user in ((ann_page, team[0]), (bob_page, team[1])):
        log_in(page, stack, user.email)
        wait_until_live(page)

    stack.fake.customer_says(PNID, "15550000001", "My invoice is wrong", name="Carla", wamid="wamid.CARLA")
    stack.fake.customer_says(PNID, "15550000002", "Where is my parcel?", name="Dan")
    carla_for_bob = bob_page.locator(".conversation-item", has_text="Carla")
    expect(carla_for_bob).to_be_visible()

    # Ann takes Carla's conversation; Bob sees it is hers without reloading.
    open_conversation(ann_page, stack, ann_page.locator(".conversation-item", has_text="Carla"))
    ann_page.click("[data-action=assign-me]")
    expect(carla_for_bob.locator(".assignee-tag")).to_have_text("Ann")
    expect(ann_page.locator("#conversation-meta")).to_contain_text("Assigned to Ann")

    # Ann labels it, quotes the customer's message in her reply, and reacts to it.
    ann_page.click(".label-picker summary")
    ann_page.locator(".label-toggle", has_text="Billing").click()
    expect(carla_for_bob.locator(".label-chip")).to_have_text("Billing")
    customer_message = ann_page.locator("#messages .message.in").first
    customer_message.hover()
    customer_message.locator("[data-action=reply]").click()
    expect(ann_page.locator("#quote-chip")).to_be_visible()
    ann_page.fill("#composer-text", "Sorry about that, fixing it now.")
    ann_page.press("#composer-text", "Enter")
    expect(ann_page.locator("#messages .message.out .quote")).to_contain_text("My invoice is wrong")
    customer_message.hover()
    customer_message.locator("[data-action=react]").click()
    ann_page.click("#reaction-picker button[data-emoji='👍']")
    expect(customer_message.locator(".reaction")).to_have_text("👍")

    # Bob opens the same conversation, sees Ann there, and leaves her a note.
    open_conversation(bob_page, stack, carla_for_bob)
    expect(bob_page.locator(".thread-header .viewers")).to_contain_text("Ann")
    bob_page.click(".composer .tab[data-mode=note]")
    bob_page.fill("#composer-text", "@ann the refund is approved")
    bob_page.press("#composer-text", "Enter")
    expect(ann_page.locator("#messages .note-item")).to_contain_text("the refund is approved")

    # Ann resolves with the keyboard; it leaves Bob's Open list.
    ann_page.locator("#messages").click()
    ann_page.keyboard.press("e")
    expect(bob_page.locator("#conversation-meta .status-badge")).to_have_text("Resolved")
    bob_page.goto(f"{stack.url}/t/acme/inbox/")
    expect(bob_page.locator(".conversation-item", has_text="Carla")).to_have_count(0)

    sent = stack.fake.sent_messages(PNID)
    assert [(s["body"]["type"], s["body"].get("context")) for s in sent] == [
        ("text", {"message_id": "wamid.CARLA"}),
        ("reaction", None),
    ]


def test_after_24_hours_the_agent_sends_a_template(new_page, stack, team, acme):
    stack.fake.add_template(ACME["waba_id"], "order_update", "Hi {{1}}, your order {{2}} has shipped.")
    MessageTemplate.objects.create(
        tenant=acme,
        meta_id="1",
        name="order_update",
        language="en_US",
        status="APPROVED",
        category="UTILITY",
        components=[{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}],
    )
    page = new_page()
    log_in(page, stack, team[0].email)
    wait_until_live(page)
    stack.fake.customer_says(PNID, "15550000003", "Thanks!", name="Eve", timestamp=timezone.now() - timedelta(hours=26))
    open_conversation(page, stack, page.locator(".conversation-item", has_text="Eve"))

    page.select_option("#template-select", label="order_update (en_US, utility)")
    page.get_by_label("Body parameter {{1}}").fill("Eve")
    page.get_by_label("Body parameter {{2}}").fill("#1042")
    expect(page.locator("#preview-body")).to_have_text("Hi Eve, your order #1042 has shipped.")
    page.click("#template-send")
    expect(page.locator("#messages .message.out")).to_contain_text("Hi Eve, your order #1042 has shipped.")
    expect(page.locator("#messages .message.out")).to_have_attribute("data-status", "read")
    assert stack.fake.sent_messages(PNID)[0]["body"]["template"]["name"] == "order_update"


def test_saved_replies_open_with_a_slash(new_page, stack, team, acme):
    CannedResponse.objects.create(tenant=acme, shortcut="hours", text="We are open 9 to 18, Monday to Friday.")
    page = new_page()
    log_in(page, stack, team[0].email)
    wait_until_live(page)
    stack.fake.customer_says(PNID, "15550000004", "When are you open?", name="Fay")
    open_conversation(page, stack, page.locator(".conversation-item", has_text="Fay"))

    page.locator("#composer-text").press_sequentially("/ho")
    expect(page.locator("#canned-menu li")).to_have_count(1)
    page.press("#composer-text", "Enter")  # picks the saved reply
    expect(page.locator("#composer-text")).to_have_value("We are open 9 to 18, Monday to Friday.")
    page.press("#composer-text", "Enter")  # sends it
    expect(page.locator("#messages .message.out")).to_contain_text("We are open 9 to 18")
    assert Message.objects.filter(direction="out", text__startswith="We are open").count() == 1


def test_keyboard_moves_between_conversations_and_assigns(new_page, stack, team):
    page = new_page()
    log_in(page, stack, team[0].email)
    wait_until_live(page)
    stack.fake.customer_says(PNID, "15550000005", "first", name="Gus")
    expect(page.locator(".conversation-item", has_text="Gus")).to_be_visible()
    stack.fake.customer_says(PNID, "15550000006", "second", name="Hal")
    open_conversation(page, stack, page.locator(".conversation-item", has_text="Hal"))
    page.locator("#messages").click()
    page.keyboard.press("j")
    page.wait_for_url("**/inbox/c/*/")
    expect(page.locator(".thread-header h2")).to_have_text("Gus")
    wait_until_live(page)
    page.keyboard.press("a")  # nothing has the focus on arrival: the key is a shortcut
    expect(page.locator("#conversation-meta")).to_contain_text("Assigned to Ann")
