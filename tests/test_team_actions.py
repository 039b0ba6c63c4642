"""What admins change for their team on the settings page: deleting a label or a saved reply,
and the inbox settings. Each goes through a named action that writes the audit log; a deleted
label leaves open inboxes live."""

import pytest
from django.test import Client

from tenants.models import AuditEvent, Role
from tenants.setup import add_member
from whatsapp.models import CannedResponse, Contact, Conversation, Label

Action = AuditEvent.Action


@pytest.fixture
def admin(acme):
    return add_member(acme, "admin@acme.test", role=Role.ADMIN).user


@pytest.fixture
def admin_client(admin):
    client = Client(REMOTE_ADDR="198.51.100.7")
    client.force_login(admin)
    return client


@pytest.fixture
def label(acme):
    """acme's label "Billing", on two conversations."""
    label = Label.objects.create(tenant=acme, name="Billing")
    for wa_id in ("15550000001", "15550000002"):
        contact = Contact.objects.create(tenant=acme, wa_id=wa_id)
        conversation = Conversation.objects.create(tenant=acme, contact=contact, phone_number=acme.phone_numbers.get())
        conversation.labels.add(label)
    return label


@pytest.fixture
def saved_reply(acme):
    return CannedResponse.objects.create(tenant=acme, shortcut="hours", text="We open at 9.")


def entries(tenant, action):
    return list(AuditEvent.objects.filter(tenant=tenant, action=action))


def delete_label_url(label):
    return f"/t/acme/settings/labels/{label.pk}/delete/"


def delete_reply_url(reply):
    return f"/t/acme/settings/replies/{reply.pk}/delete/"


# --- Deleting a label ---------------------------------------------------------------------


def test_deleting_a_label_takes_it_off_every_conversation_and_is_audited(acme, admin, admin_client, label):
    response = admin_client.post(delete_label_url(label))
    assert response.status_code == 302 and response["Location"] == "/t/acme/settings/"
    assert not Label.objects.exists() and not Conversation.labels.through.objects.exists()
    [entry] = entries(acme, Action.LABEL_DELETED)
    assert (entry.actor, entry.target, entry.details, entry.ip) == (
        admin,
        "Label Billing",
        {"conversations": 2},
        "198.51.100.7",
    )


def test_deleting_a_label_tells_open_inboxes_after_commit(admin_client, label, published):
    label_id = label.pk
    published()  # the fixtures' own events
    admin_client.post(delete_label_url(label))
    assert published() == [("label.deleted", {"label_id": label_id})]


def test_the_inbox_marks_each_label_chip_with_its_label_for_the_page_to_drop(acme, agent_client, label):
    conversation = label.conversations.first()
    content = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert content.count(f'class="label-chip label-color-0" data-label-id="{label.pk}"') >= 2  # list row and header


def test_agents_get_403_and_the_label_stays(acme, agent_client, label):
    assert agent_client.post(delete_label_url(label)).status_code == 403
    assert Label.objects.filter(pk=label.pk).exists() and not entries(acme, Action.LABEL_DELETED)


def test_an_outsider_gets_404_and_the_label_stays(acme, outsider_client, label):
    assert outsider_client.post(delete_label_url(label)).status_code == 404
    assert Label.objects.filter(pk=label.pk).exists() and not entries(acme, Action.LABEL_DELETED)


def test_another_workspaces_label_is_404_for_an_admin(admin_client, globex):
    theirs = Label.objects.create(tenant=globex, name="Theirs")
    assert admin_client.post(delete_label_url(theirs)).status_code == 404
    assert Label.objects.filter(pk=theirs.pk).exists()


def test_deleting_a_label_takes_a_post_and_a_login(admin_client, label):
    assert admin_client.get(delete_label_url(label)).status_code == 405
    assert Client().post(delete_label_url(label))["Location"].startswith("/accounts/login/")
    assert Label.objects.filter(pk=label.pk).exists()


# --- Deleting a saved reply ---------------------------------------------------------------


def test_deleting_a_saved_reply_is_audited_and_publishes_nothing(acme, admin, admin_client, saved_reply, published):
    published()
    response = admin_client.post(delete_reply_url(saved_reply))
    assert response.status_code == 302 and not CannedResponse.objects.exists()
    [entry] = entries(acme, Action.SAVED_REPLY_DELETED)
    assert (entry.actor, entry.target, entry.ip) == (admin, "/hours", "198.51.100.7")
    assert published() == []  # saved replies come with the page, not live


def test_agents_get_403_and_the_saved_reply_stays(acme, agent_client, saved_reply):
    assert agent_client.post(delete_reply_url(saved_reply)).status_code == 403
    assert CannedResponse.objects.filter(pk=saved_reply.pk).exists()
    assert not entries(acme, Action.SAVED_REPLY_DELETED)


def test_an_outsider_gets_404_and_the_saved_reply_stays(acme, outsider_client, saved_reply):
    assert outsider_client.post(delete_reply_url(saved_reply)).status_code == 404
    assert CannedResponse.objects.filter(pk=saved_reply.pk).exists()
    assert not entries(acme, Action.SAVED_REPLY_DELETED)


def test_deleting_a_saved_reply_takes_a_post_and_a_login(admin_client, saved_reply):
    assert admin_client.get(delete_reply_url(saved_reply)).status_code == 405
    assert Client().post(delete_reply_url(saved_reply))["Location"].startswith("/accounts/login/")


# --- Inbox settings -----------------------------------------------------------------------


def test_inbox_settings_changes_are_audited_with_what_they_were(acme, admin, admin_client):
    admin_client.post("/t/acme/settings/", {"read_receipts": "reply", "auto_assign": "on"})
    acme.refresh_from_db()
    assert (acme.read_receipts, acme.auto_assign) == ("reply", True)
    [entry] = entries(acme, Action.SETTINGS_CHANGED)
    assert (entry.actor, entry.target, entry.ip) == (admin, "Inbox settings", "198.51.100.7")
    assert entry.details == {"read_receipts": ["open", "reply"], "auto_assign": [False, True]}


def test_saving_unchanged_inbox_settings_writes_no_entry(acme, admin_client):
    admin_client.post("/t/acme/settings/", {"read_receipts": "open"})
    assert not entries(acme, Action.SETTINGS_CHANGED)


def test_agents_get_403_on_the_inbox_settings(acme, agent_client):
    assert agent_client.post("/t/acme/settings/", {"read_receipts": "reply"}).status_code == 403
    acme.refresh_from_db()
    assert acme.read_receipts == "open" and not entries(acme, Action.SETTINGS_CHANGED)
