"""Marketing consent: opt-ins recorded with where, when and who; opt-outs by keyword (answered
with a confirmation), by WhatsApp's own setting or by a member; both on the contact and in the
CSV export; and marketing templates refused to a customer who opted out."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import AuditEvent
from tests.support.tenants import ACME
from whatsapp.contacts import consent
from whatsapp.models import Contact, Conversation, Message, MessageTemplate
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]
CUSTOMER = "15551234567"

pytestmark = pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")


@pytest.fixture
def says(webhook, run_tasks, fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])

    def customer_says(text, wa_id=CUSTOMER, **kwargs):
        webhook.post(payloads.text_message(PNID, wa_id, text, **kwargs))
        run_tasks()
        return Contact.objects.get(wa_id=wa_id)

    return customer_says


@pytest.fixture
def templates(acme):
    def make(name, category):
        return MessageTemplate.objects.create(
            tenant=acme,
            meta_id=name,
            name=name,
            language="en_US",
            status="APPROVED",
            category=category,
            components=[{"type": "BODY", "text": "News for you"}],
        )

    return {"promo": make("spring_sale", "MARKETING"), "utility": make("order_ready", "UTILITY")}


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop! ", "baja", "BAJA.", "Sair", "sáir", "ARRÊT", "Parar"])
def test_a_keyword_alone_opts_out_and_is_confirmed(says, text, fake_graph, acme):
    contact = says(text)
    assert contact.marketing_opted_out and contact.marketing_opted_out_at is not None
    assert contact.marketing_opt_out_source.startswith("keyword")
    [confirmation] = fake_graph.sent_messages(PNID, CUSTOMER)
    assert confirmation["body"]["text"]["body"] == acme.opt_out_reply
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CONTACT_OPTED_OUT, actor=None).count() == 1


@pytest.mark.parametrize("text", ["stop sending me the invoice twice", "Is the shop open?", "STOPP"])
def test_a_keyword_inside_a_sentence_changes_nothing(says, text, fake_graph):
    assert not says(text).marketing_opted_out
    assert fake_graph.sent_messages(PNID) == []


def test_the_workspace_chooses_its_keywords_and_confirmation(says, acme, fake_graph, tenant_admin_client):
    form = {"opt_out_keywords": "ALTO,  no more ads ", "opt_out_reply": "Done, no more ads."}
    assert tenant_admin_client.post("/t/acme/settings/consent/", form).status_code == 302
    acme.refresh_from_db()
    assert acme.opt_out_keywords == "ALTO, no more ads"
    assert not says("stop").marketing_opted_out
    assert says("No more ads!").marketing_opted_out
    assert [s["body"]["text"]["body"] for s in fake_graph.sent_messages(PNID)] == ["Done, no more ads."]


def test_keyword_settings_are_for_admins_and_a_long_keyword_is_refused(tenant_admin_client, agent_client, acme):
    form = {"opt_out_keywords": "STOP, " + "x" * 41, "opt_out_reply": ""}
    assert agent_client.post("/t/acme/settings/consent/", form).status_code == 403
    response = tenant_admin_client.post("/t/acme/settings/consent/", form)
    assert response.status_code == 400 and "at most 40 characters" in response.content.decode()
    acme.refresh_from_db()
    assert acme.opt_out_keywords.startswith("STOP, BAJA")


def test_a_replayed_keyword_is_answered_once(says, webhook, run_tasks, fake_graph):
    says("STOP", wamid="wamid.STOP")
    webhook.post(payloads.text_message(PNID, CUSTOMER, "STOP", wamid="wamid.STOP"))
    run_tasks()
    assert len(fake_graph.sent_messages(PNID)) == 1


def test_a_blocked_contacts_keyword_counts_without_an_answer(says, fake_graph):
    Contact.objects.create(tenant_id=says("Hi").tenant_id, wa_id="15550009999", blocked=True)
    assert says("STOP", wa_id="15550009999").marketing_opted_out
    assert fake_graph.sent_messages(PNID, "15550009999") == []


def test_a_marketing_template_to_an_opted_out_contact_is_refused_with_the_reason(says, agent_client, templates):
    contact = says("STOP")
    conversation = Conversation.objects.get(contact=contact)
    Conversation.objects.filter(pk=conversation.pk).update(window_closes_at=timezone.now() - timedelta(hours=1))
    url = f"/t/acme/inbox/c/{conversation.pk}/template/"
    response = agent_client.post(url, {"template": templates["promo"].pk})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "opted out of marketing messages" in error and "spring_sale is a marketing template" in error
    assert 'keyword "STOP"' in error
    assert agent_client.post(url, {"template": templates["utility"].pk}).status_code == 201
    assert Message.objects.filter(type="template").count() == 1


def test_marketing_refusal_is_none_with_consent_or_for_other_categories(acme, templates):
    contact = Contact.objects.create(tenant=acme, wa_id=CUSTOMER)
    assert consent.marketing_refusal(contact, templates["promo"]) is None
    contact.marketing_opted_out = True
    assert consent.marketing_refusal(contact, templates["utility"]) is None
    assert "opted out" in consent.marketing_refusal(contact, templates["promo"])


def test_an_agent_records_an_opt_in_with_its_source_and_it_clears_an_opt_out(says, agent_client, agent, published):
    contact = says("STOP")
    response = agent_client.post(
        f"/t/acme/contacts/{contact.pk}/opt-in/", {"source": "Signed up at the shop"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert not contact.marketing_opted_out
    assert (contact.marketing_opt_in_source, contact.marketing_opt_in_by) == ("Signed up at the shop", agent)
    assert "Opted in" in response.json()["html"] and "Signed up at the shop" in response.json()["html"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.CONTACT_OPTED_IN)
    assert (event.actor, event.details) == (agent, {"source": "Signed up at the shop"})
    assert any(name == "contact.updated" for name, _ in published())


def test_an_opt_in_needs_a_source(says, agent_client):
    contact = says("Hi")
    response = agent_client.post(f"/t/acme/contacts/{contact.pk}/opt-in/", {"source": "  "})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.marketing_opted_in_at is None


def test_a_member_records_an_opt_out(says, agent_client, agent):
    contact = says("Hi")
    assert agent_client.post(f"/t/acme/contacts/{contact.pk}/opt-out/").status_code == 302
    contact.refresh_from_db()
    assert contact.marketing_opted_out and "recorded by" in contact.marketing_opt_out_source
    page = agent_client.get(f"/t/acme/contacts/{contact.pk}/").content.decode()
    assert "Opted out" in page and "no marketing templates" in page


def test_whatsapps_own_marketing_setting_is_recorded_with_its_time(says, webhook, run_tasks):
    contact = says("Hi")
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": ACME["display_phone_number"], "phone_number_id": PNID},
        "contacts": [{"wa_id": CUSTOMER, "profile": {"name": "Carla"}}],
        "user_preferences": [
            {
                "wa_id": CUSTOMER,
                "detail": "User requested to stop marketing messages",
                "category": "marketing_messages",
                "value": "stop",
                "timestamp": 1731705721,
            }
        ],
    }
    webhook.post(payloads.field_update("user_preferences", value))
    run_tasks()
    contact.refresh_from_db()
    assert contact.marketing_opted_out and contact.marketing_opted_out_at is not None
    assert contact.marketing_opt_out_source == "stopped marketing messages in WhatsApp"


def test_the_csv_export_says_who_opted_in_and_out(says, agent_client, agent, tenant_admin_client):
    stopped = says("STOP")
    agreed = says("Hi", wa_id="15550002000")
    agent_client.post(f"/t/acme/contacts/{agreed.pk}/opt-in/", {"source": "Website form"})
    response = tenant_admin_client.get("/t/acme/contacts/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response).decode("utf-8")[1:], newline="")))
    by_number = {row["wa_id"]: row for row in rows}
    assert by_number[stopped.wa_id]["marketing_opted_out"] == "yes"
    assert by_number[stopped.wa_id]["marketing_opt_out_source"] == 'keyword "STOP"'
    assert by_number[stopped.wa_id]["marketing_opted_out_at"]
    assert by_number[agreed.wa_id]["marketing_opt_in_source"] == "Website form"
    assert by_number[agreed.wa_id]["marketing_opt_in_by"] == agent.email


def test_consent_actions_need_a_member_and_post(says, outsider_client, agent_client, client):
    contact = says("Hi")
    assert outsider_client.post(f"/t/acme/contacts/{contact.pk}/opt-out/").status_code == 404
    assert agent_client.get(f"/t/acme/contacts/{contact.pk}/opt-in/").status_code == 405
    assert client.post(f"/t/acme/contacts/{contact.pk}/opt-out/").status_code == 302
    contact.refresh_from_db()
    assert not contact.marketing_opted_out


def test_a_keyword_that_arrives_after_its_window_closed_is_recorded_without_an_answer(says, fake_graph):
    contact = says("STOP", timestamp=timezone.now() - timedelta(hours=30))
    assert contact.marketing_opted_out
    assert fake_graph.sent_messages(PNID) == []


def test_metas_131050_refusal_records_the_opt_out(says, agent_client, templates, fake_graph, run_tasks):
    contact = says("Hello")
    conversation = Conversation.objects.get(contact=contact)
    fake_graph.script_error(PNID, code=131050, message="Unable to deliver", details="User stopped marketing.")
    response = agent_client.post(f"/t/acme/inbox/c/{conversation.pk}/template/", {"template": templates["promo"].pk})
    assert response.status_code == 201
    run_tasks()
    contact.refresh_from_db()
    assert contact.marketing_opted_out
    assert contact.marketing_opt_out_source == "WhatsApp refused a marketing message (131050)"
    assert Message.objects.get(type="template").error_detail.startswith("The customer has stopped marketing")


def test_a_template_button_whose_text_is_a_keyword_opts_out(says, acme, webhook, run_tasks, fake_graph):
    acme.opt_out_keywords = "STOP, Stop promotions"
    acme.save(update_fields=["opt_out_keywords"])
    says("Hi")
    button = {"payload": "stop-promos", "text": "Stop promotions"}
    webhook.post(payloads.message(PNID, CUSTOMER, "button", button, context={"from": "x", "id": "wamid.OURS"}))
    run_tasks()
    assert Contact.objects.get(wa_id=CUSTOMER).marketing_opted_out
    assert len(fake_graph.sent_messages(PNID, CUSTOMER)) == 1


def test_resuming_marketing_in_whatsapp_is_an_opt_in_without_a_member(says, webhook, run_tasks, published):
    contact = says("STOP")
    webhook.post(payloads.user_preferences(PNID, payloads.marketing_preference(CUSTOMER, "resume")))
    run_tasks()
    contact.refresh_from_db()
    assert not contact.marketing_opted_out and contact.marketing_opt_in_by is None
    assert contact.marketing_opt_in_source == "resumed marketing messages in WhatsApp"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CONTACT_OPTED_IN)
    assert event.actor is None


def test_a_preference_naming_nobody_changes_no_contact(says, webhook, run_tasks):
    says("Hi")
    preference = {"category": "marketing_messages", "value": "stop", "timestamp": 1731705721}
    webhook.post(payloads.field_update("user_preferences", {"user_preferences": [preference]}))
    run_tasks()
    assert not Contact.objects.filter(marketing_opted_out=True).exists()
