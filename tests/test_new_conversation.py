"""Writing first to a customer: numbers read as people type them, the conversation found or
started (audited, live), and the new conversation page that sends its first template."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import AuditEvent, Role
from tenants.setup import add_member
from tests.support.templates import add_templates
from tests.support.tenants import ACME, client_for
from whatsapp.conversations.starting import normalise_number, start_conversation
from whatsapp.errors import ActionError
from whatsapp.models import Contact, Conversation, Message, PhoneNumber
from whatsapp.simulator import payloads
from whatsapp.team import actions as team

PNID = ACME["phone_number_id"]
NEW = "/t/acme/inbox/new/"
OFFER = {
    "body.first_name": "Ana",
    "body.discount": "20%",
    "button.0": "spring",
    "header_link": "https://a.example/i.jpg",
}


class TestNumbers:
    @pytest.mark.parametrize(
        ("typed", "country", "wa_id"),
        [
            ("+34 612 34 56 78", "", "34612345678"),
            ("0034 612-34-56-78", "", "34612345678"),
            ("612 34 56 78", "ES", "34612345678"),
            ("(650) 555-1234", "US", "16505551234"),
            ("+1 650 555 1234", "ES", "16505551234"),
            ("55 1234 5678", "mx", "525512345678"),
        ],
    )
    def test_a_typed_number_becomes_its_whatsapp_id(self, typed, country, wa_id):
        assert normalise_number(typed, country) == wa_id

    def test_a_number_without_country_code_needs_the_default_country(self):
        with pytest.raises(ActionError, match="has no country code: start it with \\+ and the country code"):
            normalise_number("612 34 56 78")

    @pytest.mark.parametrize("typed", ["+34 12", "hello", "+999 123 456 789", "612 34 56 78 99 99"])
    def test_a_number_that_cannot_exist_is_refused(self, typed):
        with pytest.raises(ActionError, match="is not a valid phone number"):
            normalise_number(typed, "ES")

    def test_an_empty_number_is_refused(self):
        with pytest.raises(ActionError, match="Type the customer's phone number."):
            normalise_number("  ")


class TestStartConversation:
    def test_it_makes_the_contact_and_the_conversation_and_audits_it(self, acme, agent):
        number = acme.phone_numbers.get()
        conversation = start_conversation(agent, tenant=acme, phone_number=number, to="+34 612 34 56 78")
        assert (conversation.contact.wa_id, conversation.phone_number) == ("34612345678", number)
        assert not conversation.window_is_open
        event = AuditEvent.objects.get(action=AuditEvent.Action.CONVERSATION_STARTED)
        assert (event.actor, event.target) == (agent, f"+34612345678 from {number.display_phone_number}")

    def test_it_finds_the_conversation_a_customer_started(self, acme, agent, webhook, run_tasks):
        webhook.post(payloads.text_message(PNID, "34612345678", "Hola"))
        run_tasks()
        found = start_conversation(agent, tenant=acme, phone_number=acme.phone_numbers.get(), to="+34612345678")
        assert found == Conversation.objects.get()
        assert Contact.objects.count() == 1
        assert not AuditEvent.objects.filter(action=AuditEvent.Action.CONVERSATION_STARTED).exists()

    def test_the_workspace_default_country_reads_national_numbers(self, acme, agent):
        acme.default_country = "ES"
        acme.save()
        conversation = start_conversation(agent, tenant=acme, phone_number=acme.phone_numbers.get(), to="612345678")
        assert conversation.contact.wa_id == "34612345678"

    def test_another_workspaces_number_is_refused(self, acme, globex, agent):
        with pytest.raises(ActionError, match="Choose one of the workspace's business numbers"):
            start_conversation(agent, tenant=acme, phone_number=globex.phone_numbers.get(), to="+34612345678")

    def test_a_blocked_contact_is_refused(self, acme, agent):
        Contact.objects.create(tenant=acme, wa_id="34612345678", name="Pat", blocked=True)
        with pytest.raises(ActionError, match="Pat is blocked"):
            start_conversation(agent, tenant=acme, phone_number=acme.phone_numbers.get(), to="+34612345678")
        assert not Conversation.objects.exists()


@pytest.fixture
def templates(acme, fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], waba_id=ACME["waba_id"], access_token=ACME["access_token"])
    add_templates(fake_graph, ACME["waba_id"], ["welcome_offer", "coupon"])
    team.sync_templates(acme)
    return {t.name: t for t in acme.templates.all()}


class TestThePage:
    def test_login_is_required(self, client, acme):
        assert client.get(NEW).status_code == 302

    def test_an_outsider_gets_a_404(self, outsider_client, acme):
        assert outsider_client.get(NEW).status_code == 404

    def test_other_methods_get_a_405(self, agent_client):
        assert agent_client.put(NEW).status_code == 405

    def test_it_offers_the_approved_templates_and_a_picked_contact(self, agent_client, acme, templates):
        contact = Contact.objects.create(tenant=acme, wa_id="34612345678", name="Pat")
        page = agent_client.get(f"{NEW}?contact={contact.pk}").content.decode()
        assert 'value="+34612345678"' in page and "Pat" in page
        assert "welcome_offer (en_US, marketing)" in page
        assert 'name="phone_number"' not in page  # one number: nothing to choose

    def test_another_workspaces_contact_is_a_404(self, agent_client, globex):
        contact = Contact.objects.create(tenant=globex, wa_id="34612345678")
        assert agent_client.get(f"{NEW}?contact={contact.pk}").status_code == 404

    def test_with_two_numbers_the_agent_picks_one(self, agent_client, acme, templates, fake_graph, run_tasks):
        second = PhoneNumber.objects.create(tenant=acme, phone_number_id="333", display_phone_number="15550003333")
        fake_graph.register_number("333", "", ACME["app_secret"], waba_id=ACME["waba_id"])
        assert 'name="phone_number"' in agent_client.get(NEW).content.decode()
        fields = {"to": "+34612345678", "template": templates["coupon"].pk, "button.0": "SAVE20"}
        response = agent_client.post(NEW, fields, headers={"Accept": "application/json"})
        assert response.json() == {"error": "Choose the business number to send from."}
        response = agent_client.post(NEW, fields | {"phone_number": second.pk}, headers={"Accept": "application/json"})
        assert response.status_code == 201
        run_tasks()
        assert [s["phone_number_id"] for s in fake_graph.sent_messages()] == ["333"]


class TestSending:
    def post(self, client, **fields):
        return client.post(NEW, fields, headers={"Accept": "application/json"})

    def test_it_starts_the_conversation_with_the_template(self, agent_client, acme, templates, fake_graph, run_tasks):
        response = self.post(agent_client, to="+34 612 34 56 78", template=templates["welcome_offer"].pk, **OFFER)
        conversation = Conversation.objects.get()
        assert response.status_code == 201
        assert response.json() == {"url": f"/t/acme/inbox/c/{conversation.pk}/", "sent": True}
        run_tasks()
        [sent] = fake_graph.sent_messages(PNID)
        assert (sent["to"], sent["body"]["template"]["name"]) == ("34612345678", "welcome_offer")
        assert Message.objects.get().status == "sent"

    def test_a_refused_template_leaves_no_conversation_behind(self, agent_client, acme, templates):
        response = self.post(agent_client, to="+34612345678", template=templates["coupon"].pk)
        assert response.status_code == 400
        assert response.json() == {"error": "The copy code button “Copy offer code” needs a code."}
        assert not Conversation.objects.exists() and not Contact.objects.exists()

    def test_a_bad_number_is_a_400_that_says_so(self, agent_client, templates):
        response = self.post(agent_client, to="12", template=templates["coupon"].pk, **{"button.0": "X"})
        assert response.status_code == 400
        assert "has no country code" in response.json()["error"]

    def test_without_javascript_an_error_renders_the_page_again(self, agent_client, templates):
        response = agent_client.post(NEW, {"to": "+34 12", "template": templates["coupon"].pk, "button.0": "X"})
        assert response.status_code == 400
        assert "+34 12 is not a valid phone number." in response.content.decode()

    def test_inside_the_window_the_thread_opens_and_nothing_is_sent(
        self, agent_client, acme, templates, webhook, run_tasks, fake_graph
    ):
        webhook.post(payloads.text_message(PNID, "34612345678", "Hola", timestamp=timezone.now() - timedelta(hours=1)))
        run_tasks()
        response = self.post(agent_client, to="+34612345678", template=templates["coupon"].pk, **{"button.0": "X"})
        conversation = Conversation.objects.get()
        assert (response.status_code, response.json()) == (
            200,
            {"url": f"/t/acme/inbox/c/{conversation.pk}/", "sent": False},
        )
        run_tasks()
        assert fake_graph.sent_messages(PNID) == []

    def test_an_unapproved_template_is_refused(self, agent_client, acme, templates):
        templates["coupon"].status = "PAUSED"
        templates["coupon"].save()
        response = self.post(agent_client, to="+34612345678", template=templates["coupon"].pk, **{"button.0": "X"})
        assert response.json() == {"error": "Template coupon is paused: it cannot be sent."}


class TestDefaultCountrySetting:
    @pytest.fixture
    def admin_client(self, acme):
        return client_for(add_member(acme, "admin@acme.test", role=Role.ADMIN).user)

    def test_an_admin_sets_it(self, admin_client, acme):
        response = admin_client.post("/t/acme/settings/", {"read_receipts": "open", "default_country": "es"})
        assert response.status_code == 302
        acme.refresh_from_db()
        assert acme.default_country == "ES"

    def test_a_code_that_is_no_country_is_a_form_error(self, admin_client, acme):
        response = admin_client.post("/t/acme/settings/", {"read_receipts": "open", "default_country": "XX"})
        assert response.status_code == 400
        assert "XX is not a country code" in response.content.decode()

    def test_agents_cannot_change_it(self, agent_client):
        assert agent_client.post("/t/acme/settings/", {"default_country": "ES"}).status_code == 403


class TestLookup:
    URL = "/t/acme/inbox/new/lookup/"

    def test_a_new_number_is_new(self, agent_client, acme):
        response = agent_client.get(self.URL, {"to": "+34 612 34 56 78"})
        assert response.json() == {"wa_id": "34612345678", "name": "", "conversation_url": "", "window_open": False}

    def test_a_customer_inside_their_window_gets_their_thread(self, agent_client, acme, webhook, run_tasks):
        webhook.post(payloads.text_message(PNID, "34612345678", "Hola", name="Pat"))
        run_tasks()
        conversation = Conversation.objects.get()
        response = agent_client.get(self.URL, {"to": "+34612345678"})
        assert response.json() == {
            "wa_id": "34612345678",
            "name": "Pat",
            "conversation_url": f"/t/acme/inbox/c/{conversation.pk}/",
            "window_open": True,
        }

    def test_a_bad_number_is_a_400_that_says_so(self, agent_client, acme):
        response = agent_client.get(self.URL, {"to": "+34 12"})
        assert (response.status_code, response.json()) == (400, {"error": "+34 12 is not a valid phone number."})

    def test_an_outsider_gets_a_404(self, outsider_client, acme):
        assert outsider_client.get(self.URL, {"to": "+34612345678"}).status_code == 404

    def test_login_is_required(self, client, acme):
        assert client.get(self.URL, {"to": "+34612345678"}).status_code == 302

    def test_other_methods_get_a_405(self, agent_client):
        assert agent_client.post(self.URL, {"to": "+34612345678"}).status_code == 405


class TestContactSuggestions:
    URL = "/t/acme/inbox/new/contacts/"

    def test_contacts_that_can_be_written_to_match_by_name_or_number(self, agent_client, acme, globex):
        Contact.objects.create(tenant=acme, wa_id="34612345678", name="Pat Lopez")
        Contact.objects.create(tenant=acme, wa_id="34699999999", name="Pat Blocked", blocked=True)
        Contact.objects.create(tenant=acme, user_id="US.123", name="Pat Without Number")
        Contact.objects.create(tenant=globex, wa_id="34611111111", name="Pat Elsewhere")
        expected = {"contacts": [{"phone": "+34612345678", "name": "Pat Lopez"}]}
        assert agent_client.get(self.URL, {"q": "pat"}).json() == expected
        assert agent_client.get(self.URL, {"q": "+34 612"}).json() == expected
        assert agent_client.get(self.URL, {"q": ""}).json() == {"contacts": []}

    def test_an_outsider_gets_a_404(self, outsider_client, acme):
        assert outsider_client.get(self.URL, {"q": "pat"}).status_code == 404

    def test_other_methods_get_a_405(self, agent_client):
        assert agent_client.post(self.URL).status_code == 405


class TestWaysIn:
    def test_the_inbox_the_contacts_list_and_a_contacts_page_lead_to_it(self, agent_client, acme):
        contact = Contact.objects.create(tenant=acme, wa_id="34612345678", name="Pat")
        assert f'href="{NEW}"' in agent_client.get("/t/acme/inbox/").content.decode()
        listed = agent_client.get("/t/acme/contacts/").content.decode()
        assert f'href="{NEW}"' in listed and f'href="{NEW}?contact={contact.pk}"' in listed
        assert (
            f'href="{NEW}?contact={contact.pk}"' in agent_client.get(f"/t/acme/contacts/{contact.pk}/").content.decode()
        )

    def test_a_blocked_contact_is_not_offered_a_new_conversation(self, agent_client, acme):
        contact = Contact.objects.create(tenant=acme, wa_id="34612345678", blocked=True)
        assert f"?contact={contact.pk}" not in agent_client.get(f"/t/acme/contacts/{contact.pk}/").content.decode()
