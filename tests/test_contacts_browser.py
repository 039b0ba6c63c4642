"""Contacts and search in Chromium, on the live stack: two agents editing one contact, the
conflict when both edit at once, blocking, searching, and an admin's CSV import and export.

Plain sync tests, like test_browser.py, whose fixtures and helpers they share.
"""

import csv
import io
import time

import pytest
from playwright.sync_api import expect

from tenants.models import Role
from tenants.setup import add_member
from tests.support.browsing import log_in, open_conversation, wait_until_live
from tests.support.tenants import ACME, PASSWORD
from tests.support.waiting import wait_until
from whatsapp.models import Contact, Message

pytestmark = [pytest.mark.browser, pytest.mark.stack]

PNID = ACME["phone_number_id"]
CARLA = "15551230000"
DAN = "15551239999"


@pytest.fixture
def second_page(new_page):
    """Another agent's browser: a separate context, so a separate session."""
    return new_page()


@pytest.fixture
def second_agent(acme):
    return add_member(acme, "agent2@acme.test", role=Role.AGENT, password=PASSWORD).user


@pytest.fixture
def admin(acme):
    return add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD).user


def carla_writes(stack, text, **kwargs):
    stack.fake.customer_says(PNID, CARLA, text, name="Carla", **kwargs)


def open_carla(page, stack):
    open_conversation(page, stack, page.locator(".conversation-item", has_text="Carla"))
    expect(page.locator("#contact-panel .contact-display-name")).to_have_text("Carla")


def edit(page, name=None, notes=None, field=None):
    panel = page.locator("#contact-panel")
    if not panel.locator("details.contact-edit").get_attribute("open"):
        panel.locator("details.contact-edit summary").click()
    if name is not None:
        panel.locator("input[name=name]").fill(name)
    if notes is not None:
        panel.locator("textarea[name=notes]").fill(notes)
    if field:
        panel.locator("input[name=attribute_key]").last.fill(field[0])
        panel.locator("input[name=attribute_value]").last.fill(field[1])


def save(page):
    page.locator("#contact-panel button[type=submit]", has_text="Save").click()


def test_an_agents_edit_of_a_contact_appears_live_in_another_agents_browser(
    page, second_page, stack, agent, second_agent, tmp_path
):
    log_in(page, stack, agent.email)
    log_in(second_page, stack, second_agent.email)
    wait_until_live(page)
    wait_until_live(second_page)
    carla_writes(stack, "Hello, I need help")
    open_carla(page, stack)
    open_carla(second_page, stack)

    edit(page, name="Carla Gómez", notes="Prefers mornings.\nOrdered twice.", field=("plan", "gold"))
    save(page)

    mine = page.locator("#contact-panel")
    expect(mine.locator(".contact-display-name")).to_have_text("Carla Gómez")
    expect(mine.locator("details.contact-edit")).not_to_have_attribute("open", "")
    theirs = second_page.locator("#contact-panel")
    expect(theirs.locator(".contact-display-name")).to_have_text("Carla Gómez")
    expect(theirs.locator(".contact-notes")).to_have_text("Prefers mornings.\nOrdered twice.", use_inner_text=True)
    expect(theirs.locator(".contact-attribute-key")).to_have_text("plan")
    expect(theirs.locator(".contact-attribute-value")).to_have_text("gold")
    expect(second_page.locator(".thread-header h2")).to_have_text("Carla Gómez")
    expect(second_page.locator(".conversation-item .contact-name")).to_have_text("Carla Gómez")
    expect(second_page.locator(".conversation-item.current")).to_have_count(1)
    page.screenshot(path=tmp_path / "browser-contacts.png", full_page=True)

    carla = Contact.objects.get(wa_id=CARLA)
    assert (carla.name, carla.notes, carla.attributes) == (
        "Carla Gómez",
        "Prefers mornings.\nOrdered twice.",
        {"plan": "gold"},
    )


def test_two_agents_editing_at_once_do_not_overwrite_each_other_silently(
    page, second_page, stack, agent, second_agent, tmp_path
):
    log_in(page, stack, agent.email)
    log_in(second_page, stack, second_agent.email)
    wait_until_live(page)
    wait_until_live(second_page)
    carla_writes(stack, "Hi")
    open_carla(page, stack)
    open_carla(second_page, stack)

    edit(second_page, notes="Second agent's note", field=("city", "Lyon"))  # opened and typed, not yet saved
    edit(page, notes="First agent's note")
    save(page)
    # The live update reaches the second agent, but leaves their open form as they typed it.
    expect(second_page.locator("#contact-panel .contact-notes")).to_have_text("First agent's note")
    expect(second_page.locator("textarea[name=notes]")).to_have_value("Second agent's note")

    save(second_page)
    error = second_page.locator("#contact-panel .contact-error")
    expect(error).to_contain_text("Someone else changed this contact")
    second_page.screenshot(path=tmp_path / "browser-contact-conflict.png", full_page=True)
    assert Contact.objects.get(wa_id=CARLA).notes == "First agent's note"

    save(second_page)  # having seen theirs, save again to replace it
    expect(page.locator("#contact-panel .contact-notes")).to_have_text("Second agent's note")
    assert Contact.objects.get(wa_id=CARLA).notes == "Second agent's note"


def test_a_blocked_contacts_messages_no_longer_raise_the_conversation(page, stack, agent):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    carla_writes(stack, "First message")
    open_carla(page, stack)

    page.locator("#contact-panel button.contact-block").click()
    expect(page.locator("#contact-panel .contact-blocked-pill")).to_have_text("Blocked")
    expect(page.locator("#contact-panel button.contact-unblock")).to_be_visible()

    page.goto(f"{stack.url}/t/acme/inbox/")
    wait_until_live(page)
    carla = page.locator(".conversation-item", has_text="Carla")
    expect(carla.locator(".preview")).to_have_text("First message")

    carla_writes(stack, "Buy cheap watches", timestamp=time.time() + 60)
    stack.fake.customer_says(PNID, DAN, "Hello from Dan", name="Dan", timestamp=time.time() + 61)
    dan = page.locator(".conversation-item", has_text="Dan")
    expect(dan.locator(".badge")).to_have_text("1")  # events flow: Dan's message raised his
    wait_until(lambda: Message.objects.filter(text="Buy cheap watches").exists(), message="Carla's message not stored")
    expect(page.locator(".conversation-item").first).to_contain_text("Dan")
    expect(carla.locator(".preview")).to_have_text("First message")
    expect(carla.locator(".badge")).to_have_count(0)

    open_carla(page, stack)  # stored, and shown in the thread
    expect(page.locator("#messages .message.in .text").last).to_have_text("Buy cheap watches")


def test_searching_finds_a_message_and_opens_it_in_its_conversation(page, stack, agent, tmp_path):
    log_in(page, stack, agent.email)
    wait_until_live(page)
    now = time.time()
    carla_writes(stack, "My parcel number is 4711", timestamp=now)
    for n in range(40):  # enough later messages that the found one is far above the end
        carla_writes(stack, f"Another message {n}", timestamp=now + 1 + n)
    expect(page.locator(".conversation-item", has_text="Carla").locator(".preview")).to_have_text("Another message 39")

    page.fill("#topbar-search", "parcel 471")
    page.press("#topbar-search", "Enter")
    page.wait_for_url(f"{stack.url}/t/acme/search/?q=parcel+471")
    result = page.locator(".message-result a")
    expect(result).to_have_count(1)
    expect(result.locator("mark")).to_have_text(["parcel", "471"])  # what was typed, in the text
    page.screenshot(path=tmp_path / "browser-search.png", full_page=True)

    result.click()
    page.wait_for_url(f"{stack.url}/t/acme/inbox/c/*/?at=*#message-*")
    found = page.locator(".message:target")
    expect(found.locator(".text")).to_have_text("My parcel number is 4711")
    expect(found).to_be_in_viewport()


def test_an_admin_imports_contacts_from_csv_and_exports_them(page, stack, admin, tmp_path):
    log_in(page, stack, admin.email)
    page.goto(f"{stack.url}/t/acme/contacts/import/")
    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "contacts.csv",
                "mimeType": "text/csv",
                "buffer": "wa_id,name,notes,plan\n+49 151 2345 6789,Zoë,Likes tea,gold\nnot-a-number,Bad,,\n".encode(),
            }
        ],
    )
    page.click(".import-form button[type=submit]")
    expect(page.locator(".import-summary")).to_contain_text("1 contact imported: 1 new")
    expect(page.locator(".import-errors")).to_contain_text("“not-a-number” is not a phone number")
    page.screenshot(path=tmp_path / "browser-import.png", full_page=True)

    page.goto(f"{stack.url}/t/acme/contacts/")
    page.fill(".filters input[name=q]", "zoë")
    page.press(".filters input[name=q]", "Enter")
    expect(page.locator(".contact-table tbody tr")).to_have_count(1)
    expect(page.locator(".contact-table tbody")).to_contain_text("+4915123456789")
    page.screenshot(path=tmp_path / "browser-contacts-page.png", full_page=True)

    with page.expect_download() as download:
        page.click("#contacts-export")
    content = download.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content, newline="")))
    assert [(row["wa_id"], row["name"], row["notes"], row["plan"]) for row in rows] == [
        ("4915123456789", "Zoë", "Likes tea", "gold")
    ]


def test_an_agent_sees_no_import_or_export_and_gets_403_there(page, stack, agent):
    log_in(page, stack, agent.email)
    page.goto(f"{stack.url}/t/acme/contacts/")
    expect(page.locator("h1")).to_have_text("Contacts")
    expect(page.locator("#contacts-export")).to_have_count(0)
    assert page.goto(f"{stack.url}/t/acme/contacts/export.csv").status == 403
