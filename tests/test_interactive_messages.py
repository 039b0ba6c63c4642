"""Interactive messages from the composer: reply buttons, lists, a link button, a location and
a location request reach the (fake) Graph API in Meta's shapes; what WhatsApp would refuse is
refused first, naming the field; the customer's tap comes back tied to the message it answers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import Membership
from tests.support.tenants import ACME
from whatsapp.errors import FieldError
from whatsapp.models import Conversation, Message
from whatsapp.sending import actions as sending
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]
CUSTOMER = "15551234567"


@pytest.fixture
def conversation(webhook, run_tasks, fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    webhook.post(payloads.text_message(PNID, CUSTOMER, "Can I book a visit?", name="Ada"))
    run_tasks()
    return Conversation.objects.get()


@pytest.fixture
def membership(agent):
    return Membership.objects.get(user=agent)


def url(conversation):
    return f"/t/acme/inbox/c/{conversation.pk}/interactive/"


def sent_body(fake_graph):
    [sent] = fake_graph.sent_messages(PNID)
    return sent["body"]


def test_reply_buttons_reach_the_graph_api_in_metas_shape(conversation, membership, run_tasks, fake_graph):
    fields = {
        "body": "Which day suits you?",
        "header": "Visits",
        "footer": "Reply below",
        "buttons": ["Monday", "Tuesday"],
    }
    message = sending.send_interactive(membership, conversation, "buttons", fields)
    run_tasks()

    body = sent_body(fake_graph)
    assert body["type"] == "interactive" and body["to"] == CUSTOMER
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "Which day suits you?"}
    assert interactive["header"] == {"type": "text", "text": "Visits"}
    assert interactive["footer"] == {"text": "Reply below"}
    assert [button["reply"] for button in interactive["action"]["buttons"]] == [
        {"id": "button-1", "title": "Monday"},
        {"id": "button-2", "title": "Tuesday"},
    ]
    message.refresh_from_db()
    assert (message.type, message.text, message.status) == ("interactive", "Which day suits you?", "sent")


def test_a_list_keeps_its_sections_rows_and_descriptions(conversation, membership, run_tasks, fake_graph):
    sections = [
        {"title": "Shirts", "rows": [{"title": "Medium", "description": "Chest 100 cm"}, {"title": "Large"}]},
        {"title": "Hats", "rows": [{"title": "One size"}]},
    ]
    sending.send_interactive(
        membership, conversation, "list", {"body": "Pick a size", "list_button": "Sizes", "sections": sections}
    )
    run_tasks()

    interactive = sent_body(fake_graph)["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "Sizes"
    assert interactive["action"]["sections"] == [
        {
            "title": "Shirts",
            "rows": [
                {"id": "row-1", "title": "Medium", "description": "Chest 100 cm"},
                {"id": "row-2", "title": "Large"},
            ],
        },
        {"title": "Hats", "rows": [{"id": "row-3", "title": "One size"}]},
    ]


def test_a_link_button_a_location_and_a_location_request_are_sent(conversation, membership, run_tasks, fake_graph):
    link = {"body": "Track your parcel", "display_text": "Track it", "url": "https://example.com/track/1042"}
    place = {"latitude": "38.7075", "longitude": "-9.1365", "name": "Our shop", "address": "Rua Augusta 1, Lisboa"}
    sending.send_interactive(membership, conversation, "cta_url", link)
    sending.send_interactive(membership, conversation, "location", place)
    sending.send_interactive(membership, conversation, "location_request", {"body": "Where should we deliver?"})
    run_tasks()

    cta, location, request = (record["body"] for record in fake_graph.sent_messages(PNID))
    assert cta["interactive"]["type"] == "cta_url"
    assert cta["interactive"]["action"] == {
        "name": "cta_url",
        "parameters": {"display_text": "Track it", "url": "https://example.com/track/1042"},
    }
    assert location["type"] == "location"
    assert location["location"] == {
        "latitude": 38.7075,
        "longitude": -9.1365,
        "name": "Our shop",
        "address": "Rua Augusta 1, Lisboa",
    }
    assert request["interactive"]["type"] == "location_request_message"
    assert request["interactive"]["action"] == {"name": "send_location"}
    assert Message.objects.filter(direction="out", status="sent").count() == 3


@pytest.mark.parametrize(
    "kind, fields, field, words",
    [
        ("buttons", {"body": "Pick", "buttons": []}, "buttons", "at least one button"),
        ("buttons", {"body": "Pick", "buttons": ["A", "B", "C", "D"]}, "buttons", "at most 3"),
        ("buttons", {"body": "Pick", "buttons": ["Yes", "A title far too long to fit"]}, "buttons", "Button 2"),
        ("buttons", {"body": "Pick", "buttons": ["Yes", "yes"]}, "buttons", "of its own"),
        ("buttons", {"body": "", "buttons": ["Yes"]}, "body", "Message text"),
        ("buttons", {"body": "Pick", "header": "h" * 61, "buttons": ["Yes"]}, "header", "at most 60"),
        ("list", {"body": "Pick", "list_button": "", "sections": [{"rows": [{"title": "A"}]}]}, "list_button", "List"),
        ("list", {"body": "Pick", "list_button": "Sizes", "sections": []}, "sections", "at least one row"),
        (
            "list",
            {"body": "Pick", "list_button": "Sizes", "sections": [{"rows": [{"title": str(n)} for n in range(11)]}]},
            "sections",
            "at most 10 rows",
        ),
        ("cta_url", {"body": "Go", "display_text": "Open", "url": "javascript:alert(1)"}, "url", "https://"),
        ("cta_url", {"body": "Go", "display_text": "", "url": "https://example.com"}, "display_text", "Button text"),
        ("location", {"latitude": "91", "longitude": "0"}, "latitude", "between -90 and 90"),
        ("location", {"latitude": "1", "longitude": "east"}, "longitude", "a number of degrees"),
        ("poll", {}, "kind", "Choose what to send"),
    ],
)
def test_what_whatsapp_would_refuse_is_refused_naming_the_field(conversation, membership, kind, fields, field, words):
    with pytest.raises(FieldError) as refused:
        sending.send_interactive(membership, conversation, kind, fields)

    assert refused.value.field == field and words in str(refused.value)
    assert not Message.objects.filter(direction="out").exists()


def test_interactive_messages_wait_for_the_customer_service_window(conversation, membership):
    Conversation.objects.filter(pk=conversation.pk).update(window_closes_at=timezone.now() - timedelta(minutes=1))
    conversation.refresh_from_db()

    with pytest.raises(Exception, match="24-hour window is closed"):
        sending.send_interactive(membership, conversation, "buttons", {"body": "Still there?", "buttons": ["Yes"]})


def test_the_customers_tap_is_stored_as_a_button_reply_to_the_message_it_answers(
    conversation, membership, run_tasks, fake_graph, webhook
):
    asked = sending.send_interactive(membership, conversation, "buttons", {"body": "Which day?", "buttons": ["Monday"]})
    run_tasks()
    asked.refresh_from_db()

    webhook.post(payloads.interactive_reply(PNID, CUSTOMER, asked.wamid, "button-1", "Monday"))
    run_tasks()

    reply = Message.objects.filter(direction="in").latest("pk")
    assert (reply.type, reply.text, reply.reply_to_wamid) == ("interactive", "Monday", asked.wamid)
    assert reply.body == {"type": "button_reply", "button_reply": {"id": "button-1", "title": "Monday"}}


# The view


def test_the_view_sends_and_answers_with_the_messages_html(agent_client, conversation):
    response = agent_client.post(
        url(conversation),
        {
            "kind": "list",
            "body": "Pick a size",
            "list_button": "Sizes",
            "rows": "# Shirts\nMedium | Chest 100 cm\nLarge",
        },
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 201
    assert "Chest 100 cm" in response.json()["html"] and "Sizes" in response.json()["html"]
    message = Message.objects.get(direction="out")
    sections = message.body["action"]["sections"]
    assert sections == [
        {
            "title": "Shirts",
            "rows": [
                {"id": "row-1", "title": "Medium", "description": "Chest 100 cm"},
                {"id": "row-2", "title": "Large"},
            ],
        }
    ]


def test_the_view_names_the_field_of_a_refusal(agent_client, conversation):
    response = agent_client.post(
        url(conversation), {"kind": "buttons", "body": "Pick", "buttons": ["A", "B", "C", "D"]}
    )

    assert response.status_code == 400
    assert response.json()["field"] == "buttons" and "at most 3" in response.json()["error"]


def test_the_view_needs_a_login_a_member_and_a_post(client, outsider_client, agent_client, conversation):
    fields = {"kind": "buttons", "body": "Pick", "buttons": ["A"]}
    assert client.post(url(conversation), fields).status_code == 302
    assert outsider_client.post(url(conversation), fields).status_code == 404
    assert agent_client.get(url(conversation)).status_code == 405
    assert not Message.objects.filter(direction="out").exists()
