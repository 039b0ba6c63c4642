"""The simulator's phone (/simulator/, demo mode only): what the customer sends goes through
the fake Graph API; what it cannot send gets a 400 that says why; the chat it shows carries the
business's read receipts and typing."""

import json

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncRequestFactory

from tests.support.media_files import OGG_VOICE
from tests.support.tenants import ACME
from whatsapp.simulator import payloads, views

PNID = ACME["phone_number_id"]
CUSTOMER = "15557650009"


@pytest.fixture
def phone(acme, fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    return fake_graph


def send(**fields):
    request = AsyncRequestFactory().post("/simulator/send/", {"phone_number_id": PNID, "wa_id": CUSTOMER, **fields})
    return async_to_sync(views.send)(request)


def answer_of(response):
    return json.loads(response.content)


def test_the_customer_shares_the_demos_place_through_the_fake(phone):
    response = send(kind="location")

    assert response.status_code == 200
    assert phone.inbound[-1]["wamid"] == answer_of(response)["wamid"]


def test_a_voice_note_goes_as_audio_marked_voice(phone):
    response = send(file=SimpleUploadedFile("note.ogg", OGG_VOICE, content_type="audio/ogg"))

    assert response.status_code == 200
    [(media_id, item)] = phone.media.items()
    assert item["mime_type"] == "audio/ogg" and item["data"] == OGG_VOICE


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"wa_id": ""}, "your phone number"),
        ({"text": "  "}, "Write something"),
        ({"kind": "poll"}, "cannot send 'poll'"),
        ({"kind": "reaction", "wamid": "wamid.X", "emoji": "🦄"}, "Choose a message and a reaction"),
        ({"kind": "reply", "wamid": "wamid.X"}, "Choose a button"),
        ({"kind": "location", "place_latitude": "north"}, "latitude must be a number"),
        ({"file": SimpleUploadedFile("empty.pdf", b"", content_type="application/pdf")}, "empty"),
    ],
)
def test_what_the_phone_cannot_send_gets_a_400_that_says_why(phone, fields, words):
    response = send(**fields)

    assert response.status_code == 400 and words in answer_of(response)["error"]
    assert phone.inbound == []


def test_a_tap_on_a_choice_the_business_did_not_offer_is_refused_with_whatsapps_reason(phone):
    response = send(kind="reply", wamid="wamid.NOT-SENT", choice="Yes")

    assert response.status_code == 400 and "offers no choice" in answer_of(response)["error"]


def test_an_unknown_business_number_is_refused(phone):
    response = send(phone_number_id="999", text="Hello")

    assert response.status_code == 400 and answer_of(response)["error"] == "Unknown business number."


def test_the_chat_shows_the_businesss_read_receipts_and_typing(phone, webhook, run_tasks):
    first = phone.customer_says(PNID, CUSTOMER, "First")
    second = phone.customer_says(PNID, CUSTOMER, "Second")
    for wamid, text in ((first, "First"), (second, "Second")):  # as the webhook would have stored them
        webhook.post(payloads.text_message(PNID, CUSTOMER, text, wamid=wamid))
    run_tasks()
    receipt = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": first,
        "typing_indicator": {"type": "text"},
    }
    headers = {"Authorization": f"Bearer {ACME['access_token']}"}
    httpx.post(f"{phone.url}/v24.0/{PNID}/messages", json=receipt, headers=headers).raise_for_status()
    request = AsyncRequestFactory().get("/simulator/thread/", {"phone_number_id": PNID, "wa_id": CUSTOMER})

    answer = answer_of(async_to_sync(views.thread)(request))

    assert answer["typing"] is True and "typing…" in answer["html"]
    assert answer["html"].count('aria-label="Read"') == 1 and answer["html"].count('aria-label="Delivered"') == 1
    assert answer["html"].index("First") < answer["html"].index('aria-label="Read"') < answer["html"].index("Second")
