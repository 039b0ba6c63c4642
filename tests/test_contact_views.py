"""The contacts pages and the side panel: who may do what, the list, edit and block."""

import pytest

from tests.support.tenants import ACME
from whatsapp.models import Contact, Conversation
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]


@pytest.fixture
def conversation(webhook, run_tasks):
    webhook.post(payloads.text_message(PNID, "15551234567", "Where is my order?", name="Ada"))
    run_tasks()
    return Conversation.objects.select_related("contact").get()


@pytest.fixture
def contact(conversation):
    return conversation.contact


def edit_url(contact, slug="acme"):
    return f"/t/{slug}/contacts/{contact.pk}/edit/"


def form(contact, **changes):
    return {"name": contact.name, "notes": contact.notes, "version": contact.updated_at.isoformat()} | changes


# Access: every view requires login, hides other tenants, refuses wrong methods and roles.

AGENT_PAGES = ["/t/acme/contacts/", "/t/acme/contacts/{id}/", "/t/acme/search/?q=order"]
AGENT_ACTIONS = ["/t/acme/contacts/{id}/edit/", "/t/acme/contacts/{id}/block/", "/t/acme/contacts/{id}/unblock/"]
ADMIN_PAGES = ["/t/acme/contacts/export.csv", "/t/acme/contacts/import/"]


@pytest.mark.parametrize("url", AGENT_PAGES + AGENT_ACTIONS + ADMIN_PAGES)
def test_login_is_required(client, contact, url):
    url = url.format(id=contact.pk)
    response = client.post(url) if url in [u.format(id=contact.pk) for u in AGENT_ACTIONS] else client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", AGENT_PAGES + ADMIN_PAGES)
def test_an_outsider_gets_404_on_pages(outsider_client, contact, url):
    assert outsider_client.get(url.format(id=contact.pk)).status_code == 404


@pytest.mark.parametrize("url", AGENT_ACTIONS)
def test_an_outsider_gets_404_on_actions_and_changes_nothing(outsider_client, contact, url):
    assert outsider_client.post(url.format(id=contact.pk), {"name": "Hacked"}).status_code == 404
    # Through their own tenant's URL too: the contact is not theirs.
    assert (
        outsider_client.post(url.format(id=contact.pk).replace("/acme/", "/globex/"), {"name": "Hacked"}).status_code
        == 404
    )
    contact.refresh_from_db()
    assert (contact.name, contact.blocked) == ("", False)


def test_an_outsider_cannot_open_another_tenants_contact_through_their_own_tenant(outsider_client, contact):
    assert outsider_client.get(f"/t/globex/contacts/{contact.pk}/").status_code == 404


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_an_agent_gets_403_on_import_and_export(agent_client, contact, url):
    assert agent_client.get(url).status_code == 403


def test_an_agent_cannot_import_by_posting_either(agent_client, contact):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("c.csv", b"wa_id,name\n15551234567,Hijacked\n", content_type="text/csv")
    assert agent_client.post("/t/acme/contacts/import/", {"file": upload}).status_code == 403
    assert Contact.objects.get().name == ""


@pytest.mark.parametrize("url", AGENT_PAGES + ["/t/acme/contacts/export.csv"])
def test_pages_refuse_post(tenant_admin_client, contact, url):
    assert tenant_admin_client.post(url.format(id=contact.pk)).status_code == 405


@pytest.mark.parametrize("url", AGENT_ACTIONS)
def test_actions_refuse_get(agent_client, contact, url):
    assert agent_client.get(url.format(id=contact.pk)).status_code == 405


def test_import_refuses_put(tenant_admin_client):
    assert tenant_admin_client.put("/t/acme/contacts/import/").status_code == 405


# The side panel in the inbox.


def test_the_inbox_shows_the_contact_panel_beside_the_thread(agent_client, conversation):
    content = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert 'id="contact-panel"' in content
    assert "+15551234567" in content
    assert f"/t/acme/contacts/{conversation.contact_id}/edit/" in content
    assert "js/contacts.js" in content and "css/contacts.css" in content


def test_the_inbox_without_a_conversation_has_no_panel(agent_client, conversation):
    assert b'id="contact-panel"' not in agent_client.get("/t/acme/inbox/").content


def test_the_panel_lists_the_contacts_conversations(agent_client, conversation):
    content = agent_client.get(f"/t/acme/contacts/{conversation.contact_id}/").content.decode()
    assert f'href="/t/acme/inbox/c/{conversation.pk}/"' in content


def test_hostile_contact_fields_are_escaped_in_the_panel(agent_client, contact):
    Contact.objects.filter(pk=contact.pk).update(
        name="<script>alert(1)</script>", notes="<img src=x onerror=alert(2)>", attributes={"<b>k</b>": "<i>v</i>"}
    )
    content = agent_client.get(f"/t/acme/contacts/{contact.pk}/").content.decode()
    for raw in ("<script>alert(1)</script>", "<img src=x", "<b>k</b>", "<i>v</i>"):
        assert raw not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


# Edit.


def test_an_agent_edits_a_contact_from_the_page_script(agent_client, contact):
    response = agent_client.post(
        edit_url(contact),
        form(contact, name="Ada Lovelace", notes="VIP", attribute_key=["plan", "city"], attribute_value=["gold", ""]),
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    assert "Ada Lovelace" in response.json()["html"]
    contact.refresh_from_db()
    assert (contact.name, contact.notes, contact.attributes) == ("Ada Lovelace", "VIP", {"plan": "gold"})


def test_without_the_script_an_edit_goes_back_to_where_the_form_was(agent_client, contact, conversation):
    back = f"/t/acme/inbox/c/{conversation.pk}/"
    response = agent_client.post(edit_url(contact), form(contact, name="Ada", next=back))
    assert response.status_code == 302 and response["Location"] == back


def test_an_edit_never_redirects_to_another_site(agent_client, contact):
    response = agent_client.post(edit_url(contact), form(contact, name="Ada", next="https://evil.example/"))
    assert response["Location"] == f"/t/acme/contacts/{contact.pk}/"


def test_a_bad_edit_answers_400_with_the_reason(agent_client, contact):
    response = agent_client.post(
        edit_url(contact), form(contact, attribute_key=["wa_id"], attribute_value=["1"]), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert "built-in column" in response.json()["error"]


def test_a_stale_edit_answers_409_with_the_current_panel_and_version(agent_client, contact):
    stale = form(contact, name="Mine")
    agent_client.post(edit_url(contact), form(contact, name="Theirs"))
    response = agent_client.post(edit_url(contact), stale, HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    body = response.json()
    assert "Someone else changed this contact" in body["error"]
    assert "Theirs" in body["html"]
    assert body["version"] == Contact.objects.get().updated_at.isoformat()
    assert Contact.objects.get().name == "Theirs"


def test_a_failed_edit_without_the_script_shows_the_reason_after_the_redirect(agent_client, contact):
    response = agent_client.post(edit_url(contact), form(contact, notes="x" * 5001), follow=True)
    assert "limit is 5,000" in response.content.decode()


# Block.


def test_an_agent_blocks_and_unblocks_a_contact(agent_client, contact):
    response = agent_client.post(f"/t/acme/contacts/{contact.pk}/block/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and "Unblock" in response.json()["html"]
    assert Contact.objects.get().blocked
    agent_client.post(f"/t/acme/contacts/{contact.pk}/unblock/")
    assert not Contact.objects.get().blocked


# The contacts page.


def make_contacts(acme, count, **fields):
    return Contact.objects.bulk_create(
        [Contact(tenant=acme, wa_id=f"4930{n:07d}", profile_name=f"Customer {n}", **fields) for n in range(count)]
    )


def test_the_contacts_page_lists_the_tenants_contacts_only(agent_client, acme, globex):
    make_contacts(acme, 2)
    Contact.objects.create(tenant=globex, wa_id="4411111111", name="Globex Secret")
    content = agent_client.get("/t/acme/contacts/").content.decode()
    assert "Customer 0" in content and "Customer 1" in content
    assert "Globex Secret" not in content


def test_the_contacts_page_pages_by_key(agent_client, acme):
    make_contacts(acme, 55)
    first = agent_client.get("/t/acme/contacts/")
    assert len(first.context["contacts"]) == 50
    older = first.context["older_before"]
    second = agent_client.get(f"/t/acme/contacts/?before={older}")
    assert len(second.context["contacts"]) == 5
    assert second.context["older_before"] is None
    assert {c.pk for c in first.context["contacts"]}.isdisjoint(c.pk for c in second.context["contacts"])


@pytest.mark.parametrize("before", ["abc", "-1", "99999999999999999999999999", ""])
def test_a_bad_page_key_shows_the_first_page(agent_client, acme, before):
    make_contacts(acme, 1)
    response = agent_client.get(f"/t/acme/contacts/?before={before}")
    assert response.status_code == 200 and len(response.context["contacts"]) == 1


def test_the_contacts_page_searches_names_notes_numbers_and_user_ids(agent_client, acme):
    Contact.objects.create(tenant=acme, wa_id="4915123456789", name="Zoë Müller", notes="Wants the blue model")
    Contact.objects.create(tenant=acme, wa_id="4420794600000", user_id="US.1234567890", profile_name="Sam")

    def found(query):
        return [c.display_name for c in agent_client.get("/t/acme/contacts/", {"q": query}).context["contacts"]]

    assert found("zoë") == ["Zoë Müller"]
    assert found("Mül") == ["Zoë Müller"]  # a prefix of a word
    assert found("blue") == ["Zoë Müller"]
    assert found("+49 151 234") == ["Zoë Müller"]  # the number from its start, as typed
    assert found("US.1234567890") == ["Sam"]
    assert found("nobody") == []


def test_only_admins_see_the_import_and_export_links(agent_client, tenant_admin_client, acme):
    assert b"export.csv" not in agent_client.get("/t/acme/contacts/").content
    assert b"export.csv" in tenant_admin_client.get("/t/acme/contacts/").content


def test_the_tabs_and_the_search_box_are_on_every_tenant_page(agent_client, acme):
    content = agent_client.get("/t/acme/inbox/").content.decode()
    assert 'href="/t/acme/contacts/"' in content
    assert 'action="/t/acme/search/"' in content
