"""Contact actions: editing, blocking and what a block does to incoming messages, and the
live events they publish."""

import time

import pytest
from channels.db import database_sync_to_async

from tests.support.realtime import connect
from tests.support.tenants import ACME
from whatsapp.contacts import actions as contacts
from whatsapp.errors import ActionError
from whatsapp.models import Contact, Conversation, Message
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]
CUSTOMER = "15551234567"


@pytest.fixture
def conversation(webhook, run_tasks):
    webhook.post(payloads.text_message(PNID, CUSTOMER, "Where is my order?", name="Ada"))
    run_tasks()
    return Conversation.objects.select_related("contact").get()


@pytest.fixture
def contact(conversation):
    return conversation.contact


def update(contact, **changes):
    values = {"name": contact.name, "notes": contact.notes, "attributes": list(contact.attributes.items())}
    return contacts.update_contact(contact, **(values | changes))


def test_an_edit_saves_name_notes_and_custom_fields(contact):
    update(contact, name=" Ada Lovelace ", notes="Prefers mornings.\r\nVIP.", attributes=[("plan", "gold"), ("", "")])
    contact.refresh_from_db()
    assert (contact.name, contact.notes, contact.attributes) == (
        "Ada Lovelace",
        "Prefers mornings.\nVIP.",
        {"plan": "gold"},
    )


def test_an_emptied_custom_field_is_removed(contact):
    update(contact, attributes=[("plan", "gold"), ("city", "Lyon")])
    update(Contact.objects.get(), attributes=[("plan", ""), ("city", "Lyon")])
    assert Contact.objects.get().attributes == {"city": "Lyon"}


@pytest.mark.parametrize(
    "attributes, message",
    [
        ([("plan", "a"), ("plan", "b")], "is there twice"),
        ([("", "orphan value")], "a field name"),
        ([("wa_id", "1")], "built-in column"),
        ([("Notes", "1")], "built-in column"),
        ([("k" * 41, "v")], "limit is 40"),
        ([("key", "v" * 501)], "limit is 500"),
        ([(f"field {n}", "v") for n in range(31)], "up to 30"),
    ],
)
def test_bad_custom_fields_are_refused_with_a_reason(contact, attributes, message):
    with pytest.raises(ActionError, match=message):
        update(contact, attributes=attributes)
    assert Contact.objects.get().attributes == {}


def test_too_long_notes_are_refused(contact):
    with pytest.raises(ActionError, match="limit is 5,000"):
        update(contact, notes="x" * 5001)


def test_nul_characters_never_reach_the_database(contact):
    update(contact, name="Ada\x00", notes="a\x00b")
    contact.refresh_from_db()
    assert (contact.name, contact.notes) == ("Ada", "ab")


def test_an_edit_publishes_the_panel_and_the_conversation_row(contact, published):
    update(contact, name="Ada Lovelace", notes="Met at the fair")
    events = dict(published())
    assert events["contact.updated"]["display_name"] == "Ada Lovelace"
    assert "Met at the fair" in events["contact.updated"]["html"]
    assert "Ada Lovelace" in events["conversation.updated"]["html"]


def test_an_edit_of_notes_only_does_not_resend_the_conversation_row(contact, published):
    update(contact, notes="Only notes")
    assert [event for event, _ in published()] == ["contact.updated"]


def test_saving_unchanged_values_publishes_nothing(contact, published):
    update(contact)
    assert published() == []


def test_a_stale_form_is_refused_and_changes_nothing(contact):
    version = contact.updated_at.isoformat()
    update(contact, name="First agent's name")
    with pytest.raises(contacts.ContactConflict, match="Someone else changed this contact"):
        update(contact, name="Second agent's name", version=version)
    assert Contact.objects.get().name == "First agent's name"


def test_a_current_form_saves(contact):
    update(contact, name="Ada", version=Contact.objects.get().updated_at.isoformat())
    assert Contact.objects.get().name == "Ada"


def test_blocking_twice_changes_nothing_the_second_time(contact, published):
    contacts.set_blocked(contact, True)
    contacts.set_blocked(contact, True)
    assert Contact.objects.get().blocked
    events = published()
    assert [event for event, _ in events] == ["contact.updated"]
    assert events[0][1]["blocked"] is True and "Unblock" in events[0][1]["html"]


def test_a_marketing_stop_from_meta_shows_on_the_panel_once(contact, webhook, run_tasks, published):
    stop = payloads.user_preferences(PNID, payloads.marketing_preference(CUSTOMER, "stop"))
    webhook.post(stop)
    run_tasks()
    assert contacts.set_marketing_preference(contact.tenant, wa_id=CUSTOMER, user_id="", stopped=True) == 1
    assert Contact.objects.get().marketing_opted_out
    events = published()
    assert [event for event, _ in events] == ["contact.updated"]
    assert "<strong>Opted out</strong>" in events[0][1]["html"]
    assert "(stopped marketing messages in WhatsApp): no marketing templates" in events[0][1]["html"]


def test_a_marketing_preference_naming_nobody_changes_nothing(contact):
    assert contacts.set_marketing_preference(contact.tenant, wa_id="", user_id="", stopped=True) == 0
    assert not Contact.objects.get().marketing_opted_out


def test_a_blocked_contacts_message_is_stored_but_raises_nothing(contact, conversation, webhook, run_tasks, published):
    Conversation.objects.filter(pk=conversation.pk).update(unread_count=0, status=Conversation.Status.RESOLVED)
    before = Conversation.objects.get()
    contacts.set_blocked(contact, True)
    published()  # the block's own event

    webhook.post(payloads.text_message(PNID, CUSTOMER, "Buy cheap watches", name="Ada", timestamp=time.time() + 60))
    run_tasks()

    assert Message.objects.filter(text="Buy cheap watches").exists()
    after = Conversation.objects.get()
    assert after.unread_count == 0
    assert after.status == Conversation.Status.RESOLVED
    assert (after.last_activity_at, after.last_message_preview) == (
        before.last_activity_at,
        before.last_message_preview,
    )
    assert published() == []


def test_an_unblocked_contacts_next_message_raises_the_conversation_again(contact, webhook, run_tasks, published):
    contacts.set_blocked(contact, True)
    contacts.set_blocked(Contact.objects.get(), False)
    published()
    later = time.time() + 60  # a later second than the first message's
    webhook.post(payloads.text_message(PNID, CUSTOMER, "Sorry about before", name="Ada", timestamp=later))
    run_tasks()
    assert Conversation.objects.get().last_message_preview == "Sorry about before"
    assert {event for event, _ in published()} == {"conversation.updated", "message.created"}


def test_a_blocked_contacts_message_is_shown_when_the_thread_is_opened(
    contact, conversation, webhook, run_tasks, agent_client
):
    contacts.set_blocked(contact, True)
    webhook.post(payloads.text_message(PNID, CUSTOMER, "Still here", name="Ada"))
    run_tasks()
    content = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert "Still here" in content
    assert "New messages from this contact are kept" in content


@pytest.mark.django_db(transaction=True)
async def test_a_member_receives_a_contact_change_live_over_redis(agent, conversation):
    communicator, connected, _ = await connect(agent, "acme")
    assert connected
    await database_sync_to_async(lambda: update(Contact.objects.get(), name="Ada Live"))()
    first = await communicator.receive_json_from(timeout=5)
    second = await communicator.receive_json_from(timeout=5)
    by_kind = {event["event"]: event["data"] for event in (first, second)}
    assert by_kind["contact.updated"]["display_name"] == "Ada Live"
    assert 'id="contact-panel"' in by_kind["contact.updated"]["html"]
    assert "Ada Live" in by_kind["conversation.updated"]["html"]
    await communicator.disconnect()
