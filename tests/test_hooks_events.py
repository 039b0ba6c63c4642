"""The inbox's actions record outgoing webhook events in their own transaction, only for
workspaces that listen, each with its conversation's sequence number."""

import pytest

import hooks
from hooks import actions as hook_actions
from hooks import event_types as types
from hooks.models import Delivery, Event
from tenants.models import Membership, Role
from tenants.setup import add_member
from tests.support.tenants import ACME
from whatsapp.contacts import actions as contacts
from whatsapp.conversations import actions as conversations
from whatsapp.models import Conversation
from whatsapp.sending import actions as sending
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]


@pytest.fixture
def admin(acme):
    return add_member(acme, "admin@acme.test", role=Role.ADMIN)


@pytest.fixture
def subscribe(admin):
    def to(*event_types):
        return hook_actions.create_endpoint(admin, url="http://127.0.0.1:9/hooks", event_types=list(event_types))

    return to


@pytest.fixture
def customer(webhook, run_tasks, fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])

    def says(text="Hello", wa_id="15551234567", **kwargs):
        webhook.post(payloads.text_message(PNID, wa_id, text, **kwargs))
        run_tasks()
        return Conversation.objects.get(contact__wa_id=wa_id)

    return says


def events(event_type):
    return list(Event.objects.filter(type=event_type).order_by("id"))


def test_a_workspace_without_endpoints_records_nothing_and_asks_the_database_nothing(acme, django_assert_num_queries):
    hooks.subscribed(acme.pk, types.MESSAGE_RECEIVED)  # the per-process set is loaded
    with django_assert_num_queries(0):
        assert hooks.emit(acme.pk, types.MESSAGE_RECEIVED, {"x": 1}, conversation_id=1) is None
    assert not Event.objects.exists()


def test_an_event_goes_only_to_endpoints_taking_its_type(acme, globex, subscribe):
    takes = subscribe(types.CONTACT_UPDATED)
    subscribe(types.MESSAGE_RECEIVED)
    event = hooks.emit(acme.pk, types.CONTACT_UPDATED, {"contact": {}})
    assert [delivery.endpoint for delivery in Delivery.objects.filter(event=event)] == [takes]
    assert hooks.emit(globex.pk, types.CONTACT_UPDATED, {}) is None


def test_events_are_numbered_per_conversation_in_order(acme, subscribe):
    subscribe(types.CONVERSATION_UPDATED)
    first = [hooks.emit(acme.pk, types.CONVERSATION_UPDATED, {}, conversation_id=1) for _ in range(2)]
    batch = hooks.emit_many(acme.pk, types.CONVERSATION_UPDATED, [({}, 2), ({}, 1), ({}, 2), ({}, None)])
    assert [event.sequence for event in first] == [1, 2]
    assert [(event.conversation_id, event.sequence) for event in batch] == [(2, 1), (1, 3), (2, 2), (None, None)]
    assert len({event.public_id for event in first + batch}) == 6


def test_a_customers_first_message_tells_of_the_conversation_then_the_message(acme, subscribe, customer):
    subscribe(types.MESSAGE_RECEIVED, types.CONVERSATION_CREATED)
    conversation = customer("Where is my order?", wamid="wamid.ORDER")
    customer("Where is my order?", wamid="wamid.ORDER")  # Meta sends it again: nothing new
    [created] = events(types.CONVERSATION_CREATED)
    [received] = events(types.MESSAGE_RECEIVED)
    assert created.data["conversation"]["id"] == conversation.pk and created.sequence == 1
    assert received.sequence == 2 and received.conversation_id == conversation.pk
    assert received.data["message"]["wamid"] == "wamid.ORDER"
    assert received.data["message"]["text"] == "Where is my order?"
    assert received.data["contact"]["wa_id"] == "15551234567"


def test_a_rollback_takes_its_events_with_it(acme, subscribe, customer):
    subscribe(types.CONVERSATION_UPDATED)
    conversation = customer()
    membership = Membership.objects.get(tenant=acme, role=Role.ADMIN)
    with pytest.raises(RuntimeError):
        from django.db import transaction

        with transaction.atomic():
            conversations.set_status(membership, conversation, "pending")
            raise RuntimeError("the change fails after the action")
    assert events(types.CONVERSATION_UPDATED) == []


def test_assigning_and_resolving_are_told(acme, admin, subscribe, customer):
    subscribe(types.CONVERSATION_ASSIGNED, types.CONVERSATION_UPDATED, types.CONVERSATION_RESOLVED)
    conversation = customer()
    conversations.assign(admin, conversation, admin.user)
    conversations.set_status(admin, conversation, "resolved")
    [assigned] = events(types.CONVERSATION_ASSIGNED)
    assert assigned.data["conversation"]["assignee"] == {"id": admin.user.pk, "email": "admin@acme.test"}
    assert assigned.data["previous_assignee_id"] is None
    [updated] = events(types.CONVERSATION_UPDATED)
    assert updated.data["conversation"]["status"] == "resolved" and updated.data["previous_status"] == "open"
    [resolved] = events(types.CONVERSATION_RESOLVED)
    assert [assigned.sequence, updated.sequence, resolved.sequence] == [1, 2, 3]


def test_a_new_message_reopening_a_resolved_conversation_is_told(acme, admin, subscribe, customer):
    conversation = customer()
    conversations.set_status(admin, conversation, "resolved")
    subscribe(types.CONVERSATION_UPDATED)
    customer("One more thing")
    [reopened] = events(types.CONVERSATION_UPDATED)
    assert reopened.data["previous_status"] == "resolved" and reopened.data["conversation"]["status"] == "open"


def test_a_contact_edited_blocked_or_imported_is_told(acme, subscribe, customer):
    from whatsapp.contacts.actions import ImportReport, ImportRow

    subscribe(types.CONTACT_UPDATED)
    contact = customer().contact
    contacts.update_contact(contact, name="Carla V.", notes="VIP", attributes=[("tier", "gold")])
    contacts.set_blocked(contact, True)
    contacts.import_contacts(acme, [ImportRow(line=2, wa_id="15551234567", values={"name": "Carla"})], ImportReport())
    names = [event.data["contact"]["name"] for event in events(types.CONTACT_UPDATED)]
    assert names == ["Carla V.", "Carla V.", "Carla"]
    assert events(types.CONTACT_UPDATED)[1].data["contact"]["blocked"] is True


def test_sent_delivered_read_and_failed_statuses_are_told(acme, agent, subscribe, customer, webhook, run_tasks):
    subscribe(types.MESSAGE_STATUS_CHANGED)
    conversation = customer()
    message = sending.send_reply(Membership.objects.get(user=agent), conversation, "On its way")
    run_tasks()
    message.refresh_from_db()
    webhook.post(payloads.status(PNID, message.wamid, "delivered", "15551234567"))
    webhook.post(payloads.status(PNID, message.wamid, "read", "15551234567"))
    run_tasks()
    told = [(event.data["status"], event.data["message"]["id"]) for event in events(types.MESSAGE_STATUS_CHANGED)]
    assert told == [("sent", message.pk), ("delivered", message.pk), ("read", message.pk)]

    other = sending.send_reply(Membership.objects.get(user=agent), conversation, "And this")
    run_tasks()
    other.refresh_from_db()
    webhook.post(
        payloads.status(PNID, other.wamid, "failed", "15551234567", error_code=131026, error_title="Undeliverable")
    )
    run_tasks()
    failed = events(types.MESSAGE_STATUS_CHANGED)[-1]
    assert failed.data["status"] == "failed" and failed.data["error"]["code"] == 131026
    assert failed.data["error"]["title"] == "Undeliverable"


def test_a_template_status_update_is_told(acme, subscribe, webhook, run_tasks):
    subscribe(types.TEMPLATE_STATUS_CHANGED)
    update = {
        "event": "REJECTED",
        "message_template_id": 987,
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "INCORRECT_CATEGORY",
    }
    webhook.post(payloads.field_update("message_template_status_update", update))
    run_tasks()
    [told] = events(types.TEMPLATE_STATUS_CHANGED)
    assert told.data["template"]["name"] == "order_update" and told.data["template"]["status"] == "REJECTED"
    assert told.data["template"]["reason"] == "INCORRECT_CATEGORY" and told.sequence is None


def test_erasing_a_contact_deletes_the_events_that_tell_of_them(acme, admin, subscribe, customer):
    from whatsapp.contacts import privacy

    subscribe(types.MESSAGE_RECEIVED, types.CONTACT_UPDATED, types.TEMPLATE_STATUS_CHANGED)
    contact = customer().contact
    contacts.update_contact(contact, name="Carla", notes="", attributes=[])
    other = customer(wa_id="15559990000").contact
    unrelated = hooks.emit(acme.pk, types.TEMPLATE_STATUS_CHANGED, {"template": {"id": 1}})
    counts = privacy.delete_contact(contact, actor=admin.user)
    assert counts["outgoing_webhook_events_deleted"] == 2
    remaining = set(Event.objects.values_list("pk", flat=True))
    assert remaining == {unrelated.pk, events(types.MESSAGE_RECEIVED)[0].pk}
    assert events(types.MESSAGE_RECEIVED)[0].data["contact"]["id"] == other.pk


def test_the_retention_period_deletes_older_events(acme, subscribe):
    from datetime import timedelta

    from django.utils import timezone

    from whatsapp.contacts import privacy

    subscribe(types.CONTACT_UPDATED)
    old, new = (hooks.emit(acme.pk, types.CONTACT_UPDATED, {"contact": {"id": n}}) for n in (1, 2))
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    counts = privacy.purge_tenant(acme, timezone.now() - timedelta(days=30))
    assert counts["outgoing_webhook_events"] == 1
    assert list(Event.objects.values_list("pk", flat=True)) == [new.pk]
