"""The flows an admin and an agent do in the browser besides chatting: labels and saved
replies in Settings, members, snoozing and filtering the list."""

import pytest
from playwright.sync_api import expect

from tenants.models import Membership, Role
from tenants.setup import add_member
from tests.support.browsing import log_in, open_conversation, wait_until_live
from tests.support.tenants import ACME, PASSWORD
from whatsapp.models import CannedResponse, Label

pytestmark = [pytest.mark.browser, pytest.mark.stack]

PNID = ACME["phone_number_id"]


def test_an_admin_sets_up_labels_replies_and_invites_a_member_who_joins(page, new_page, stack, acme):
    admin = add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD).user
    log_in(page, stack, admin.email)
    page.click("nav.tabs >> text=Settings")
    page.fill("#label-name", "Returns")
    page.click("text=Add label")
    expect(page.locator(".flash")).to_contain_text("Label Returns is ready")
    page.fill("#canned-shortcut", "refund")
    page.fill("#canned-text", "Your refund is on its way.")
    page.click("text=Save reply")
    expect(page.locator(".plain-list", has_text="/refund")).to_be_visible()
    page.click(".settings-tabs >> text=Members")
    page.fill("input[name=email]", "newbie@acme.test")
    page.click("main button[type=submit] >> text=Send invitation")
    expect(page.locator(".flash")).to_contain_text("Invitation sent to newbie@acme.test")
    link = page.locator("#invitations .invitation-link").input_value()
    assert Label.objects.filter(tenant=acme, name="Returns").exists()
    assert CannedResponse.objects.get(tenant=acme).shortcut == "refund"

    newbie = new_page()  # the invited person, in their own browser
    newbie.goto(link)
    newbie.fill("#id_new_password1", "a-long-passphrase-42")
    newbie.fill("#id_new_password2", "a-long-passphrase-42")
    newbie.click("button[type=submit] >> text=Join Acme")
    newbie.wait_for_url(f"{stack.url}/t/acme/inbox/")
    assert Membership.objects.get(tenant=acme, user__email="newbie@acme.test").role == Role.AGENT


def test_an_agent_snoozes_a_conversation_and_filters_find_it(page, stack, agent):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    stack.fake.customer_says(PNID, "15550000007", "Call me tomorrow", name="Ivy")
    open_conversation(page, stack, page.locator(".conversation-item", has_text="Ivy"))
    page.select_option("#status-select", "snooze-tomorrow")
    # Done with it for now: the page moves on, and Ivy leaves the Open list.
    page.wait_for_url(f"{stack.url}/t/acme/inbox/")
    expect(page.locator(".conversation-item", has_text="Ivy")).to_have_count(0)  # not in Open
    page.select_option("#filter-status", "snoozed")
    page.wait_for_url("**/inbox/?*status=snoozed*")
    expect(page.locator(".conversation-item", has_text="Ivy")).to_be_visible()
    page.click(".segmented >> text=Mine")
    expect(page.locator(".conversation-item", has_text="Ivy")).to_have_count(0)  # nobody took it


def test_a_label_deleted_in_settings_leaves_an_open_inbox_live(page, new_page, stack, acme, agent):
    Label.objects.create(tenant=acme, name="Returns")
    log_in(page, stack, agent.email)
    wait_until_live(page)
    stack.fake.customer_says(PNID, "15550000008", "I want to send this back", name="Rex")
    row = page.locator(".conversation-item", has_text="Rex")
    open_conversation(page, stack, row)
    page.click(".label-picker summary")
    page.locator(".label-toggle", has_text="Returns").click()
    expect(row.locator(".label-chip")).to_have_text("Returns")
    expect(page.locator("#conversation-meta .label-chip")).to_have_text("Returns")

    admin = add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD).user
    settings = new_page()
    log_in(settings, stack, admin.email)
    settings.click("nav.tabs >> text=Settings")
    settings.locator(".plain-list li", has_text="Returns").locator("text=Delete").click()
    expect(settings.locator(".flash")).to_contain_text("Label Returns deleted")

    expect(page.locator(".label-chip", has_text="Returns")).to_have_count(0)  # the row, the header, the menu
    expect(page.locator("#filter-label option", has_text="Returns")).to_have_count(0)
    assert row.get_attribute("data-labels") == ""
