"""Templates with every component Meta supports, sent from a thread whose window has closed:
the Graph API payload in Meta's shape (the fake Graph API checks it against the template as
Meta does), and an error that names the field for each value that is wrong."""

import json
import re
from datetime import timedelta

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.support.media_files import MP4, PDF, png
from tests.support.templates import add_templates
from tests.support.tenants import ACME
from whatsapp.models import Conversation, MediaFile, Message, MessageTemplate
from whatsapp.simulator import payloads
from whatsapp.team import actions as team

PNID = ACME["phone_number_id"]


@pytest.fixture
def conversation(acme, webhook, run_tasks, fake_graph):
    """A customer who last wrote 30 hours ago: only templates may be sent."""
    fake_graph.register_number(PNID, "", ACME["app_secret"], waba_id=ACME["waba_id"], access_token=ACME["access_token"])
    add_templates(fake_graph, ACME["waba_id"])
    team.sync_templates(acme)
    webhook.post(payloads.text_message(PNID, "15559990000", "Hi", timestamp=timezone.now() - timedelta(hours=30)))
    run_tasks()
    return Conversation.objects.get(contact__wa_id="15559990000")


def send(client, conversation, name, fields=None, **files):
    template = MessageTemplate.objects.get(name=name)
    return client.post(
        f"/t/acme/inbox/c/{conversation.pk}/template/", {"template": template.pk, **(fields or {}), **files}
    )


def sent_template(fake_graph, run_tasks):
    run_tasks()
    [sent] = fake_graph.sent_messages(PNID)
    return sent["body"]["template"]


def components(fake_graph, run_tasks):
    return sent_template(fake_graph, run_tasks)["components"]


class TestEveryComponent:
    def test_an_image_header_by_upload_named_body_parameters_and_a_url_suffix_go_in_metas_shape(
        self, agent_client, conversation, fake_graph, run_tasks
    ):
        fields = {"body.first_name": "Ana", "body.discount": "20%", "button.0": "spring-2027"}
        image = SimpleUploadedFile("offer.png", png(), content_type="image/png")
        assert send(agent_client, conversation, "welcome_offer", fields, header_file=image).status_code == 201
        template = sent_template(fake_graph, run_tasks)
        [upload] = fake_graph.uploaded(PNID)
        assert template == {
            "name": "welcome_offer",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"id": upload["media_id"]}}]},
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ana", "parameter_name": "first_name"},
                        {"type": "text", "text": "20%", "parameter_name": "discount"},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "spring-2027"}],
                },
            ],
        }
        assert upload["mime_type"] == "image/png"
        message = Message.objects.get(type="template")
        assert (message.text, message.status) == ("Hi Ana, your 20% discount is waiting.", "sent")
        assert message.media_file.mime_type == "image/png"

    def test_a_header_image_can_be_a_file_already_in_the_workspace(
        self, agent_client, conversation, fake_graph, run_tasks
    ):
        fields = {"body.first_name": "Ana", "body.discount": "20%", "button.0": "a"}
        image = SimpleUploadedFile("offer.png", png(), content_type="image/png")
        send(agent_client, conversation, "welcome_offer", fields, header_file=image)
        run_tasks()
        kept = MediaFile.objects.get()
        response = send(agent_client, conversation, "welcome_offer", fields | {"header_media_id": kept.pk})
        assert response.status_code == 201
        run_tasks()
        first, second = fake_graph.sent_messages(PNID)
        header = second["body"]["template"]["components"][0]["parameters"][0]
        assert header == first["body"]["template"]["components"][0]["parameters"][0]  # the same bytes, one upload
        assert len(fake_graph.uploaded(PNID)) == 1
        assert MediaFile.objects.count() == 2  # the new message keeps its own copy

    def test_a_reused_header_file_meta_has_lost_is_uploaded_again(
        self, agent_client, conversation, fake_graph, run_tasks
    ):
        fields = {"body.first_name": "Ana", "body.discount": "20%", "button.0": "a"}
        for _ in range(2):
            image = SimpleUploadedFile("offer.png", png(), content_type="image/png")
            send(agent_client, conversation, "welcome_offer", fields, header_file=image)
            run_tasks()
            fake_graph.media.clear()  # Meta's copy expired
        first, second = fake_graph.uploaded(PNID)
        assert first["media_id"] != second["media_id"]
        assert len(fake_graph.sent_messages(PNID)) == 2
        assert not Message.objects.filter(type="template", wamid__isnull=True).exists()

    def test_a_header_image_can_be_a_link(self, agent_client, conversation, fake_graph, run_tasks):
        fields = {"body.first_name": "Ana", "body.discount": "20%", "button.0": "a"}
        link = "https://cdn.example/offer.jpg"
        assert send(agent_client, conversation, "welcome_offer", fields | {"header_link": link}).status_code == 201
        header = components(fake_graph, run_tasks)[0]
        assert header == {"type": "header", "parameters": [{"type": "image", "image": {"link": link}}]}
        assert fake_graph.uploaded(PNID) == []

    def test_a_text_header_positional_body_and_quick_reply_payloads(
        self, agent_client, conversation, fake_graph, run_tasks
    ):
        fields = {"header.1": "#42", "body.1": "Ana", "body.2": "Monday", "button.1": "CHANGE_DATE"}
        assert send(agent_client, conversation, "order_shipped", fields).status_code == 201
        assert components(fake_graph, run_tasks) == [
            {"type": "header", "parameters": [{"type": "text", "text": "#42"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "Monday"}]},
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "Thanks"}],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "1",
                "parameters": [{"type": "payload", "payload": "CHANGE_DATE"}],
            },
        ]
        message = Message.objects.get(type="template")
        assert message.content["header_text"] == "Order #42"

    def test_a_location_header(self, agent_client, conversation, fake_graph, run_tasks):
        fields = {
            "header_location.latitude": "40.4168",
            "header_location.longitude": "-3.7038",
            "header_location.name": "Acme Sol",
            "header_location.address": "Puerta del Sol 1, Madrid",
        }
        assert send(agent_client, conversation, "store_visit", fields).status_code == 201
        assert components(fake_graph, run_tasks) == [
            {
                "type": "header",
                "parameters": [
                    {
                        "type": "location",
                        "location": {
                            "latitude": 40.4168,
                            "longitude": -3.7038,
                            "name": "Acme Sol",
                            "address": "Puerta del Sol 1, Madrid",
                        },
                    }
                ],
            }
        ]

    def test_a_document_header_keeps_its_filename(self, agent_client, conversation, fake_graph, run_tasks):
        document = SimpleUploadedFile("invoice-42.pdf", PDF, content_type="application/pdf")
        assert send(agent_client, conversation, "invoice_ready", header_file=document).status_code == 201
        [header] = components(fake_graph, run_tasks)
        [upload] = fake_graph.uploaded(PNID)
        assert header["parameters"] == [
            {"type": "document", "document": {"filename": "invoice-42.pdf", "id": upload["media_id"]}}
        ]

    def test_a_video_header(self, agent_client, conversation, fake_graph, run_tasks):
        video = SimpleUploadedFile("demo.mp4", MP4, content_type="video/mp4")
        assert send(agent_client, conversation, "product_video", header_file=video).status_code == 201
        [header] = components(fake_graph, run_tasks)
        assert header["parameters"][0]["type"] == "video"
        assert header["parameters"][0]["video"]["id"] == fake_graph.uploaded(PNID)[0]["media_id"]

    def test_a_copy_code_button(self, agent_client, conversation, fake_graph, run_tasks):
        assert send(agent_client, conversation, "coupon", {"button.0": "SAVE20"}).status_code == 201
        assert components(fake_graph, run_tasks) == [
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": "0",
                "parameters": [{"type": "coupon_code", "coupon_code": "SAVE20"}],
            }
        ]

    def test_an_authentication_template_sends_its_code_in_the_body_and_the_button(
        self, agent_client, conversation, fake_graph, run_tasks
    ):
        assert send(agent_client, conversation, "login_code", {"code": "482913"}).status_code == 201
        assert components(fake_graph, run_tasks) == [
            {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "482913"}]},
        ]
        assert Message.objects.get(type="template").text == "*482913* is your verification code."

    def test_the_thread_shows_the_header_body_and_footer(self, agent_client, conversation, fake_graph, run_tasks):
        fields = {"body.first_name": "Ana", "body.discount": "20%", "button.0": "a"}
        image = SimpleUploadedFile("offer.png", png(), content_type="image/png")
        send(agent_client, conversation, "welcome_offer", fields, header_file=image)
        page = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
        assert "Hi Ana, your 20% discount is waiting." in page
        assert "Reply STOP to opt out" in page
        assert f"/t/acme/media/{MediaFile.objects.get().pk}/" in page

    def test_the_thread_offers_every_field_labelled_by_the_templates_names(self, agent_client, conversation):
        page = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
        data = json.loads(re.search(r'<script id="template-form-data" type="application/json">(.*?)</script>', page)[1])
        labels = {t["name"]: [f["label"] for f in t["fields"]] for t in data["templates"].values()}
        assert labels["welcome_offer"] == [
            "Header image",
            "Body parameter {{first_name}}",
            "Body parameter {{discount}}",
            "URL button “See the offer” suffix",
        ]
        assert labels["order_shipped"] == [
            "Header parameter {{1}}",
            "Body parameter {{1}}",
            "Body parameter {{2}}",
            "Quick reply button “Thanks” payload",
            "Quick reply button “Change date” payload",
        ]
        assert labels["login_code"] == ["One-time code"]
        assert labels["coupon"] == ["Copy code button “Copy offer code” code"]
        assert labels["store_visit"] == ["Header location"]


IMAGE_OFFER = {
    "body.first_name": "Ana",
    "body.discount": "20%",
    "button.0": "x",
    "header_link": "https://a.example/i.jpg",
}
LOCATION = {
    "header_location.latitude": "40.4",
    "header_location.longitude": "-3.7",
    "header_location.name": "Acme",
    "header_location.address": "Main St",
}


@pytest.mark.parametrize(
    ("name", "fields", "error"),
    [
        ("welcome_offer", IMAGE_OFFER | {"body.first_name": " "}, "Body parameter {{first_name}} is empty."),
        ("welcome_offer", IMAGE_OFFER | {"button.0": ""}, "The URL button “See the offer” needs its URL suffix."),
        (
            "welcome_offer",
            IMAGE_OFFER | {"button.0": "a b"},
            "The URL button “See the offer” suffix must be one piece of a link, without spaces.",
        ),
        (
            "welcome_offer",
            IMAGE_OFFER | {"header_link": ""},
            "The header image is missing: upload one or pick one from the workspace.",
        ),
        (
            "welcome_offer",
            IMAGE_OFFER | {"header_link": "http://a.example/i.jpg"},
            "The header image link must be an https:// address.",
        ),
        (
            "welcome_offer",
            IMAGE_OFFER | {"header_media_id": "999999"},
            "The header file chosen is not a file of this workspace.",
        ),
        ("order_shipped", {"header.1": "", "body.1": "Ana", "body.2": "Mon"}, "Header parameter {{1}} is empty."),
        ("order_shipped", {"header.1": "#1", "body.1": "Ana"}, "Body parameter {{2}} is empty."),
        (
            "order_shipped",
            {"header.1": "#1", "body.1": "A" * 1025, "body.2": "Mon"},
            "Body parameter {{1}} is longer than 1,024 characters.",
        ),
        ("store_visit", LOCATION | {"header_location.name": ""}, "The header location's name is empty."),
        (
            "store_visit",
            LOCATION | {"header_location.latitude": "91"},
            "The header location's latitude must be a number between -90 and 90.",
        ),
        (
            "store_visit",
            LOCATION | {"header_location.longitude": "east"},
            "The header location's longitude must be a number between -180 and 180.",
        ),
        ("coupon", {}, "The copy code button “Copy offer code” needs a code."),
        (
            "coupon",
            {"button.0": "X" * 16},
            "The copy code button “Copy offer code” code may have at most 15 characters.",
        ),
        ("login_code", {"code": ""}, "The one-time code is empty."),
        ("login_code", {"code": "1" * 16}, "The one-time code may have at most 15 characters."),
    ],
)
def test_a_wrong_value_is_refused_with_a_sentence_that_names_its_field(
    agent_client, conversation, fake_graph, name, fields, error
):
    response = send(agent_client, conversation, name, fields)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert not Message.objects.filter(type="template").exists()


def test_a_header_file_of_the_wrong_kind_is_refused(agent_client, conversation):
    fields = {"body.first_name": "Ana", "body.discount": "20%", "button.0": "a"}
    document = SimpleUploadedFile("terms.pdf", PDF, content_type="application/pdf")
    response = send(agent_client, conversation, "welcome_offer", fields, header_file=document)
    assert response.status_code == 400
    assert response.json()["error"] == "The header needs an image; terms.pdf is a document."


class TestTheFakeGraphChecksTemplatesAsMetaDoes:
    def post(self, fake_graph, template):
        body = {"messaging_product": "whatsapp", "to": "15559990000", "type": "template", "template": template}
        headers = {"Authorization": f"Bearer {ACME['access_token']}"}
        return httpx.post(f"{fake_graph.url}/v24.0/{PNID}/messages", json=body, headers=headers).json()

    def test_a_wrong_parameter_count_is_error_132000(self, fake_graph, conversation):
        template = {
            "name": "order_shipped",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "#1"}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
            ],
        }
        assert self.post(fake_graph, template)["error"]["code"] == 132000

    def test_a_missing_url_suffix_is_error_132000(self, fake_graph, conversation):
        template = {
            "name": "coupon",
            "language": {"code": "en_US"},
            "components": [],
        }
        assert self.post(fake_graph, template)["error"]["code"] == 132000

    def test_a_named_parameter_under_another_name_is_error_132012(self, fake_graph, conversation):
        template = {
            "name": "welcome_offer",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://a.example/i.jpg"}}]},
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ana", "parameter_name": "name"},
                        {"type": "text", "text": "20%", "parameter_name": "discount"},
                    ],
                },
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "x"}]},
            ],
        }
        assert self.post(fake_graph, template)["error"]["code"] == 132012

    def test_an_unknown_template_or_language_is_error_132001(self, fake_graph, conversation):
        template = {"name": "coupon", "language": {"code": "es"}, "components": []}
        assert self.post(fake_graph, template)["error"]["code"] == 132001
