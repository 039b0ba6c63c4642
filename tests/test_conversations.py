"""Working conversations as a team: status, assignment, labels, notes, quotes, reactions,
templates, read receipts, typing, settings and members."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tenants.models import Invitation, Membership, Role
from tenants.setup import add_member
from tests.support.tenants import ACME
from whatsapp.conversations import actions as conversations
from whatsapp.models import CannedResponse, Conversation, Label, Message, MessageTemplate, Note, Notification
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]


@pytest.fixture
def customer(webhook, run_tasks, fake_graph):
    """A customer writes to acme; returns a function for more messages."""
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])

    def says(text="Hello", wa_id="15551234567", **kwargs):
        webhook.post(payloads.text_message(PNID, wa_id, text, **kwargs))
        run_tasks()
        return Conversation.objects.get(contact__wa_id=wa_id)

    return says


@pytest.fixture
def conversation(customer):
    return customer("Hello", wamid="wamid.FIRST")


@pytest.fixture
def admin(acme):
    return add_member(acme, "admin@acme.test", role=Role.ADMIN).user


@pytest.fixture
def admin_client(admin):
    client = Client()
    client.force_login(admin)
    return client


def url(conversation, action):
    return f"/t/acme/inbox/c/{conversation.pk}/{action}/"


class TestStatus:
    def test_an_agent_resolves_and_a_new_message_reopens(self, agent_client, conversation, customer):
        assert agent_client.post(url(conversation, "status"), {"status": "resolved"}).status_code == 200
        conversation.refresh_from_db()
        assert conversation.status == "resolved"
        customer("One more thing")
        conversation.refresh_from_db()
        assert conversation.status == "open"

    def test_snoozing_needs_a_future_time_and_wakes_up(self, agent_client, conversation):
        assert (
            agent_client.post(url(conversation, "status"), {"status": "snoozed", "snooze": "hour"}).status_code == 200
        )
        conversation.refresh_from_db()
        assert conversation.status == "snoozed" and conversation.snoozed_until > timezone.now()
        assert conversations.wake_snoozed(now=timezone.now() + timedelta(hours=2)) == 1
        conversation.refresh_from_db()
        assert conversation.status == "open" and conversation.snoozed_until is None

    def test_snoozing_into_the_past_is_refused(self, agent_client, conversation):
        response = agent_client.post(url(conversation, "status"), {"status": "snoozed", "until": "2001-01-01T10:00"})
        assert response.status_code == 400

    def test_status_needs_membership_and_post(self, outsider_client, agent_client, client, conversation):
        assert outsider_client.post(url(conversation, "status"), {"status": "resolved"}).status_code == 404
        assert agent_client.get(url(conversation, "status")).status_code == 405
        assert client.post(url(conversation, "status"), {"status": "resolved"}).status_code == 302


class TestFilters:
    def test_filters_narrow_the_list_and_counts_add_up(self, agent_client, agent, customer):
        mine = customer("a", wa_id="15550000001")
        customer("b", wa_id="15550000002")
        Conversation.objects.filter(pk=mine.pk).update(assignee=agent)
        response = agent_client.get("/t/acme/inbox/", {"assignee": "mine"})
        assert [c.pk for c in response.context["conversations"]] == [mine.pk]
        assert response.context["counts"] == {"mine": "1", "unassigned": "1", "all": "2"}

    def test_status_and_label_filters(self, agent_client, customer, acme):
        first = customer("a", wa_id="15550000001")
        second = customer("b", wa_id="15550000002")
        Conversation.objects.filter(pk=first.pk).update(status="pending")
        label = Label.objects.create(tenant=acme, name="VIP")
        second.labels.add(label)
        assert [c.pk for c in agent_client.get("/t/acme/inbox/", {"status": "pending"}).context["conversations"]] == [
            first.pk
        ]
        assert [c.pk for c in agent_client.get("/t/acme/inbox/", {"label": label.pk}).context["conversations"]] == [
            second.pk
        ]

    def test_closing_soon_shows_windows_closing_within_two_hours(self, agent_client, customer):
        soon = customer("a", wa_id="15550000001", timestamp=timezone.now() - timedelta(hours=23))
        customer("b", wa_id="15550000002")
        listed = agent_client.get("/t/acme/inbox/", {"closing": "1"}).context["conversations"]
        assert [c.pk for c in listed] == [soon.pk]


class TestAssignment:
    def test_an_agent_takes_a_conversation(self, agent_client, agent, conversation):
        assert agent_client.post(url(conversation, "assign"), {"assignee": "me"}).status_code == 200
        conversation.refresh_from_db()
        assert conversation.assignee == agent

    def test_an_agent_cannot_assign_someone_else(self, agent_client, admin, conversation):
        assert agent_client.post(url(conversation, "assign"), {"assignee": admin.pk}).status_code == 403

    def test_an_admin_assigns_anyone(self, admin_client, agent, conversation):
        assert admin_client.post(url(conversation, "assign"), {"assignee": agent.pk}).status_code == 200
        conversation.refresh_from_db()
        assert conversation.assignee == agent

    def test_nobody_is_assigned_from_outside_the_tenant(self, admin_client, outsider, conversation):
        assert admin_client.post(url(conversation, "assign"), {"assignee": outsider.pk}).status_code == 400

    def test_round_robin_gives_new_conversations_in_turn(self, acme, customer):
        acme.auto_assign = True
        acme.save()
        ann = add_member(acme, "ann@acme.test", role=Role.AGENT).user
        bob = add_member(acme, "bob@acme.test", role=Role.AGENT).user
        Membership.objects.exclude(user__in=[ann, bob]).update(available=False)
        owners = [customer(str(n), wa_id=f"1555000000{n}").assignee for n in range(4)]
        assert owners == [ann, bob, ann, bob]


class TestLabelsNotesAndMentions:
    def test_an_agent_applies_and_removes_a_label(self, agent_client, acme, conversation):
        label = Label.objects.create(tenant=acme, name="Billing")
        assert agent_client.post(url(conversation, f"labels/{label.pk}")).status_code == 200
        assert list(conversation.labels.all()) == [label]
        agent_client.post(url(conversation, f"labels/{label.pk}"))
        assert not conversation.labels.exists()

    def test_a_note_is_never_sent_to_whatsapp_and_mentions_notify(
        self, agent_client, admin, conversation, fake_graph, run_tasks
    ):
        response = agent_client.post(url(conversation, "notes"), {"text": "@admin can you refund this?"})
        assert response.status_code == 201
        run_tasks()
        assert Note.objects.get().text == "@admin can you refund this?"
        assert fake_graph.sent_messages(PNID) == []
        assert Notification.objects.get().user == admin
        assert "refund" in agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()

    def test_an_empty_note_is_refused(self, agent_client, conversation):
        assert agent_client.post(url(conversation, "notes"), {"text": "  "}).status_code == 400


class TestRepliesAndReactions:
    def test_a_quoted_reply_carries_metas_context(self, agent_client, conversation, fake_graph, run_tasks):
        first = Message.objects.get(wamid="wamid.FIRST")
        agent_client.post(url(conversation, "send"), {"text": "About that:", "reply_to": first.pk})
        run_tasks()
        [sent] = fake_graph.sent_messages(PNID)
        assert sent["body"]["context"] == {"message_id": "wamid.FIRST"}

    def test_an_agent_reacts_to_a_customer_message(self, agent_client, agent, conversation, fake_graph, run_tasks):
        first = Message.objects.get(wamid="wamid.FIRST")
        assert agent_client.post(url(conversation, f"m/{first.pk}/react"), {"emoji": "👍"}).status_code == 201
        run_tasks()
        [sent] = fake_graph.sent_messages(PNID)
        assert sent["body"]["reaction"] == {"message_id": "wamid.FIRST", "emoji": "👍"}
        first.refresh_from_db()
        assert first.reactions == {str(agent.pk): "👍"}

    def test_only_the_offered_reactions_are_accepted(self, agent_client, conversation):
        first = Message.objects.get(wamid="wamid.FIRST")
        assert agent_client.post(url(conversation, f"m/{first.pk}/react"), {"emoji": "<b>"}).status_code == 400


class TestTemplates:
    @pytest.fixture
    def template(self, fake_graph, acme, admin_client):
        fake_graph.add_template(ACME["waba_id"], "order_update", "Hi {{1}}, order {{2}} is on its way.")
        fake_graph.add_template(ACME["waba_id"], "promo", "Sale!", status="REJECTED", category="MARKETING")
        assert admin_client.post("/t/acme/templates/sync/").status_code == 302
        return MessageTemplate.objects.get(name="order_update")

    def test_sync_brings_templates_with_their_status(self, template):
        assert (template.status, template.variable_count) == ("APPROVED", 2)
        assert MessageTemplate.objects.get(name="promo").status == "REJECTED"

    def test_a_closed_window_sends_a_filled_template(self, agent_client, template, customer, fake_graph, run_tasks):
        old = customer("old", wa_id="15559990000", timestamp=timezone.now() - timedelta(hours=30))
        response = agent_client.post(url(old, "template"), {"template": template.pk, "values": ["Ann", "#42"]})
        assert response.status_code == 201
        run_tasks()
        [sent] = fake_graph.sent_messages(PNID)
        assert sent["body"]["template"]["name"] == "order_update"
        assert [p["text"] for p in sent["body"]["template"]["components"][0]["parameters"]] == ["Ann", "#42"]
        assert Message.objects.get(type="template").text == "Hi Ann, order #42 is on its way."

    def test_a_missing_value_is_refused_before_sending(self, agent_client, template, conversation):
        response = agent_client.post(url(conversation, "template"), {"template": template.pk, "values": ["Ann"]})
        assert response.status_code == 400 and response.json()["error"] == "Body parameter {{2}} is empty."

    def test_an_unapproved_template_is_refused(self, agent_client, template, conversation):
        promo = MessageTemplate.objects.get(name="promo")
        assert agent_client.post(url(conversation, "template"), {"template": promo.pk, "values": []}).status_code == 400

    def test_the_templates_page_is_for_admins(self, agent_client, outsider_client, admin_client, template):
        assert agent_client.get("/t/acme/templates/").status_code == 403
        assert outsider_client.get("/t/acme/templates/").status_code == 404
        assert "order_update" in admin_client.get("/t/acme/templates/").content.decode()


class TestReadReceiptsAndTyping:
    def test_opening_marks_the_customers_messages_read(self, agent_client, conversation, fake_graph, run_tasks):
        agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/")
        agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/")
        run_tasks()
        assert [r["body"]["message_id"] for r in fake_graph.marked_read] == ["wamid.FIRST"]

    def test_a_message_in_the_same_second_as_the_last_receipt_still_gets_its_own(
        self, agent_client, customer, fake_graph, run_tasks
    ):
        # Meta's timestamps are whole seconds; a receipt sent within that second came earlier.
        second = int(time.time())
        conversation = customer("Hello", wamid="wamid.FIRST", timestamp=second)
        agent_client.post(f"/t/acme/inbox/c/{conversation.pk}/read/")
        run_tasks()
        customer("One more thing", wamid="wamid.SECOND", timestamp=second)
        agent_client.post(f"/t/acme/inbox/c/{conversation.pk}/read/")
        run_tasks()
        assert [r["body"]["message_id"] for r in fake_graph.marked_read] == ["wamid.FIRST", "wamid.SECOND"]

    def test_with_read_on_reply_opening_marks_nothing_and_replying_does(
        self, agent_client, acme, conversation, fake_graph, run_tasks
    ):
        acme.read_receipts = "reply"
        acme.save()
        agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/")
        run_tasks()
        assert fake_graph.marked_read == []
        agent_client.post(url(conversation, "send"), {"text": "Hi!"})
        run_tasks()
        assert [r["body"]["message_id"] for r in fake_graph.marked_read] == ["wamid.FIRST"]

    def test_typing_shows_the_indicator_at_most_every_20_seconds(
        self, agent_client, conversation, fake_graph, run_tasks, acme
    ):
        acme.read_receipts = "reply"
        acme.save()
        assert agent_client.post(url(conversation, "typing")).json() == {"sent": True}
        assert agent_client.post(url(conversation, "typing")).json() == {"sent": False}
        run_tasks()
        [typing] = fake_graph.marked_read
        assert typing["body"]["typing_indicator"] == {"type": "text"}


class TestTeamSettings:
    def test_admins_manage_labels_and_saved_replies(self, admin_client, acme):
        admin_client.post("/t/acme/settings/labels/", {"name": "Urgent"})
        admin_client.post("/t/acme/settings/replies/", {"shortcut": "thanks", "text": "Thanks for writing!"})
        assert Label.objects.get(tenant=acme).name == "Urgent"
        assert CannedResponse.objects.get(tenant=acme).shortcut == "thanks"

    def test_saved_replies_reach_the_composer(self, agent_client, acme, conversation):
        CannedResponse.objects.create(tenant=acme, shortcut="hours", text="We open at 9.")
        page = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/")
        assert page.context["page_data"]["canned"] == [{"shortcut": "hours", "text": "We open at 9."}]

    def test_agents_get_403_on_team_settings(self, agent_client, acme):
        assert agent_client.get("/t/acme/settings/").status_code == 403
        assert agent_client.post("/t/acme/settings/labels/", {"name": "x"}).status_code == 403
        assert not Label.objects.exists()

    def test_read_receipt_and_round_robin_settings_are_saved(self, admin_client, acme):
        admin_client.post("/t/acme/settings/", {"read_receipts": "reply", "auto_assign": "on"})
        acme.refresh_from_db()
        assert (acme.read_receipts, acme.auto_assign) == ("reply", True)


class TestMembersAndConnection:
    def test_an_admin_invites_an_agent_who_joins_only_by_accepting(self, admin_client, acme):
        response = admin_client.post("/t/acme/members/", {"email": "new@acme.test", "role": "agent"})
        assert response.status_code == 302
        assert Invitation.objects.get(tenant=acme, email="new@acme.test").role == "agent"
        assert not Membership.objects.filter(user__email="new@acme.test").exists()

    def test_an_admin_cannot_invite_an_owner(self, admin_client):
        response = admin_client.post("/t/acme/members/", {"email": "x@acme.test", "role": "owner"})
        assert response.status_code == 403
        assert not Invitation.objects.exists()

    def test_the_last_owner_stays(self, owner, acme):
        client = Client()
        client.force_login(owner)
        membership = Membership.objects.get(user=owner)
        client.post(f"/t/acme/members/{membership.pk}/role/", {"role": "agent"})
        membership.refresh_from_db()
        assert membership.role == "owner"

    def test_agents_get_403_on_members_and_admins_on_the_connection(self, agent_client, admin_client):
        assert agent_client.get("/t/acme/members/").status_code == 403
        assert admin_client.get("/t/acme/connection/").status_code == 403

    def test_an_owner_replaces_the_token_without_seeing_the_old_one(self, owner, acme):
        client = Client()
        client.force_login(owner)
        page = client.get("/t/acme/connection/").content.decode()
        assert ACME["access_token"] not in page and ACME["app_secret"] not in page
        response = client.post(
            "/t/acme/connection/",
            {"waba_id": ACME["waba_id"], "access_token": "new-token-0123456789", "app_secret": "", "verify_token": ""},
        )
        assert response.status_code == 302
        acme.whatsapp.refresh_from_db()
        assert acme.whatsapp.access_token == "new-token-0123456789"
        assert acme.whatsapp.app_secret == ACME["app_secret"]


def test_resolving_records_a_resolution_for_the_dashboard(agent_client, agent, conversation):
    agent_client.post(url(conversation, "status"), {"status": "resolved"})
    agent_client.post(url(conversation, "status"), {"status": "resolved"})  # already resolved: no second row
    [resolution] = conversation.resolutions.all()
    assert resolution.resolved_by == agent and resolution.opened_at is not None
