"""The fake Graph API answers like Meta, and the payload factory builds what Meta sends.

No database: a tiny local receiver stands in for the project's webhook endpoint.
"""

import base64
import hashlib
import hmac
import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pywa import WhatsApp
from pywa import handlers as pywa_handlers

from whatsapp.simulator import payloads
from whatsapp.simulator.fake_graph import FakeGraphAPI

PHONE_NUMBER_ID = "1122334455667"
APP_SECRET = "app-secret-for-tests"
TOKEN = "token-for-tests"
CUSTOMER = "15551234567"


class Receiver:
    """A webhook endpoint that records every POST (headers and raw body) and answers 200."""

    def __init__(self):
        self.posts = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.put((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def next_post(self, timeout=5):
        return self.posts.get(timeout=timeout)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def fake(receiver):
    with FakeGraphAPI(status_delay=0.05) as fake:
        fake.register_number(PHONE_NUMBER_ID, receiver.url, APP_SECRET, access_token=TOKEN)
        yield fake


@pytest.fixture
def graph(fake):
    with httpx.Client(base_url=f"{fake.url}/v24.0", headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def send_text(graph, text="Hello", **extra):
    body = {"messaging_product": "whatsapp", "to": f"+{CUSTOMER}", "type": "text", "text": {"body": text}}
    return graph.post(f"/{PHONE_NUMBER_ID}/messages", json={**body, **extra})


def assert_signed(headers, body):
    expected = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature-256"], f"sha256={expected}")


def only_status(body):
    return json.loads(body)["entry"][0]["changes"][0]["value"]["statuses"][0]


# Sending


def test_a_send_returns_a_wamid_then_signed_sent_delivered_read_webhooks_follow(fake, graph, receiver):
    response = send_text(graph, biz_opaque_callback_data="outbox-7")

    assert response.status_code == 200
    answer = response.json()
    wamid = answer["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    assert answer["contacts"] == [{"input": f"+{CUSTOMER}", "wa_id": CUSTOMER}]
    statuses = []
    for _ in range(3):
        headers, body = receiver.next_post()
        assert_signed(headers, body)
        statuses.append(only_status(body))
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {wamid}
    assert {s["recipient_id"] for s in statuses} == {CUSTOMER}
    assert {s["biz_opaque_callback_data"] for s in statuses} == {"outbox-7"}
    assert fake.sent_messages(to=CUSTOMER)[0]["wamid"] == wamid


def test_a_reaction_gets_only_a_sent_status(fake, graph, receiver):
    reaction = {"message_id": "wamid.ABC", "emoji": "\U0001f44d"}
    response = graph.post(
        f"/{PHONE_NUMBER_ID}/messages",
        json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "reaction", "reaction": reaction},
    )

    assert response.status_code == 200
    assert only_status(receiver.next_post()[1])["status"] == "sent"
    with pytest.raises(queue.Empty):
        receiver.next_post(timeout=0.5)


def test_a_scripted_131047_comes_back_in_metas_error_shape_and_the_next_send_succeeds(fake, graph):
    fake.script_error(code=131047, message="Re-engagement message", details="More than 24 hours have passed.")

    refused = send_text(graph)
    accepted = send_text(graph)

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == 131047
    assert error["message"] == "(#131047) Re-engagement message"
    assert error["type"] == "OAuthException"
    assert error["error_data"] == {"messaging_product": "whatsapp", "details": "More than 24 hours have passed."}
    assert error["fbtrace_id"]
    assert accepted.status_code == 200
    assert len(fake.sent_messages()) == 1


def test_a_scripted_drop_closes_the_connection_without_an_answer(fake, graph):
    fake.script_drop()

    with pytest.raises(httpx.RemoteProtocolError):
        send_text(graph)
    assert send_text(graph).status_code == 200


def test_mark_as_read_with_a_typing_indicator_returns_success_and_sends_nothing(fake, graph):
    response = graph.post(
        f"/{PHONE_NUMBER_ID}/messages",
        json={
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.IN",
            "typing_indicator": {"type": "text"},
        },
    )

    assert response.json() == {"success": True}
    assert fake.sent_messages() == []
    assert fake.marked_read[0]["body"]["message_id"] == "wamid.IN"


def test_an_unknown_number_gets_code_100(graph):
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "text": {"body": "x"}}

    response = graph.post("/999/messages", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100


def test_a_wrong_token_gets_code_190(fake):
    response = httpx.post(
        f"{fake.url}/v25.0/{PHONE_NUMBER_ID}/messages",
        json={"messaging_product": "whatsapp", "to": CUSTOMER, "text": {"body": "x"}},
        headers={"Authorization": "Bearer stolen"},
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190


def test_an_unknown_path_gets_a_404_in_metas_shape(fake, graph):
    response = graph.get(f"/{PHONE_NUMBER_ID}/whatever")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == 100


# Media


def test_uploaded_media_round_trips_through_its_url_with_the_token(fake, graph):
    data = b"\x89PNG\r\n\x1a\n\x00binary\r\n--not-a-boundary\xff"
    # The multipart fields PyWA's upload_media sends.
    fields = {
        "file": ("pic.png", data, "image/png"),
        "messaging_product": (None, "whatsapp"),
        "type": (None, "image/png"),
    }
    upload = graph.post(f"/{PHONE_NUMBER_ID}/media", files=fields)
    media_id = upload.json()["id"]

    info = graph.get(f"/{media_id}").json()
    download = graph.get(info["url"])

    assert info["mime_type"] == "image/png"
    assert info["file_size"] == len(data)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["Content-Type"] == "image/png"
    assert graph.delete(f"/{media_id}").json() == {"success": True}
    assert graph.get(f"/{media_id}").status_code == 400


def test_a_media_download_without_the_token_is_refused(fake, graph):
    media_id = fake.add_media(b"voice note", "audio/ogg")
    url = graph.get(f"/{media_id}").json()["url"]

    response = httpx.get(url)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190


def test_each_media_url_replaces_the_one_before(fake, graph):
    media_id = fake.add_media(b"photo", "image/jpeg")
    old = graph.get(f"/{media_id}").json()["url"]
    new = graph.get(f"/{media_id}").json()["url"]

    assert old != new
    assert graph.get(old).status_code == 404
    assert graph.get(new).content == b"photo"


def test_a_scripted_expired_url_answers_404_once(fake, graph):
    media_id = fake.add_media(b"photo", "image/jpeg")
    fake.script_media_url_expired(media_id)
    url = graph.get(f"/{media_id}").json()["url"]

    assert graph.get(url).status_code == 404
    assert graph.get(url).content == b"photo"
    assert [kind for kind, _ in fake.media_requests] == ["url", "download", "download"]


def test_scripted_corrupt_bytes_do_not_match_the_advertised_sha256(fake, graph):
    media_id = fake.add_media(b"a document", "application/pdf")
    fake.script_media_corrupt(media_id)
    info = graph.get(f"/{media_id}").json()

    served = graph.get(info["url"]).content
    assert len(served) == info["file_size"]
    assert hashlib.sha256(served).hexdigest() != info["sha256"]


def test_an_upload_is_logged_and_a_send_by_its_id_is_accepted(fake, graph):
    fields = {
        "file": ("a.png", b"\x89PNG", "image/png"),
        "messaging_product": (None, "whatsapp"),
        "type": (None, "image/png"),
    }
    media_id = graph.post(f"/{PHONE_NUMBER_ID}/media", files=fields).json()["id"]
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {"id": media_id}}

    assert graph.post(f"/{PHONE_NUMBER_ID}/messages", json=body).status_code == 200
    assert [(u["media_id"], u["mime_type"], u["size"]) for u in fake.uploaded()] == [(media_id, "image/png", 4)]


def test_a_send_by_an_unknown_media_id_is_refused_like_meta(fake, graph):
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {"id": "999"}}
    response = graph.post(f"/{PHONE_NUMBER_ID}/messages", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 131053


def test_a_customers_media_message_names_a_file_the_fake_serves(fake, graph, receiver):
    wamid, media_id = fake.customer_sends_media(
        PHONE_NUMBER_ID, CUSTOMER, "document", b"%PDF-1", "application/pdf", filename="invoice.pdf", caption="Here"
    )

    headers, body = receiver.next_post()
    assert_signed(headers, body)
    message = json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert (message["id"], message["type"]) == (wamid, "document")
    assert message["document"]["id"] == media_id
    assert message["document"]["filename"] == "invoice.pdf" and message["document"]["caption"] == "Here"
    assert base64.b64decode(message["document"]["sha256"]) == hashlib.sha256(b"%PDF-1").digest()
    assert graph.get(graph.get(f"/{media_id}").json()["url"]).content == b"%PDF-1"


# The simulated customer and the /_fake endpoints


def test_a_customer_message_arrives_signed_at_the_webhook(fake, receiver):
    wamid = fake.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Olá, café? ☕", name="Zoë")

    headers, body = receiver.next_post()
    assert_signed(headers, body)
    assert "\\u00e1" in body.decode("ascii")  # escaped like Meta's, so signatures match
    value = json.loads(body)["entry"][0]["changes"][0]["value"]
    assert value["messages"][0]["id"] == wamid
    assert value["messages"][0]["text"]["body"] == "Olá, café? ☕"
    assert value["contacts"][0]["profile"]["name"] == "Zoë"


def test_another_process_can_configure_script_and_inspect_the_fake_over_http(fake, receiver):
    base = fake.url
    registered = httpx.post(
        f"{base}/_fake/numbers",
        json={"phone_number_id": "777", "webhook_url": receiver.url, "app_secret": APP_SECRET},
    )
    httpx.post(f"{base}/_fake/script", json={"kind": "error", "code": 131026, "message": "Message undeliverable"})
    headers = {"Authorization": "Bearer any"}
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "text": {"body": "hi"}}
    refused = httpx.post(f"{base}/v24.0/777/messages", json=body, headers=headers)
    accepted = httpx.post(f"{base}/v24.0/777/messages", json=body, headers=headers)
    sent = httpx.get(f"{base}/_fake/sent", params={"phone_number_id": "777", "to": CUSTOMER}).json()["data"]

    assert registered.json()["success"] is True
    assert refused.json()["error"]["code"] == 131026
    assert [record["wamid"] for record in sent] == [accepted.json()["messages"][0]["id"]]
    assert httpx.post(f"{base}/_fake/reset").json() == {"success": True}
    assert fake.sent_messages() == []


def test_the_customer_endpoint_delivers_a_text(fake, receiver):
    response = httpx.post(
        f"{fake.url}/_fake/customer", json={"phone_number_id": PHONE_NUMBER_ID, "wa_id": CUSTOMER, "text": "hi"}
    )

    _, body = receiver.next_post()
    assert json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["id"] == response.json()["wamid"]


def sent_message(receiver):
    """The next customer's message the webhook receives (status updates skipped)."""
    while True:
        _, body = receiver.next_post()
        value = json.loads(body)["entry"][0]["changes"][0]["value"]
        if "messages" in value:
            return value["messages"][0]


def send_buttons(graph):
    interactive = {
        "type": "button",
        "body": {"text": "Which day suits you?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "mon", "title": "Monday"}}]},
    }
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "interactive", "interactive": interactive}
    return graph.post(f"/{PHONE_NUMBER_ID}/messages", json=body).json()["messages"][0]["id"]


def test_the_customer_taps_a_reply_button_of_the_business_message(fake, graph, receiver):
    wamid = send_buttons(graph)

    fake.customer_taps(PHONE_NUMBER_ID, CUSTOMER, wamid, "Monday")

    message = sent_message(receiver)
    assert message["type"] == "interactive"
    assert message["interactive"] == {"type": "button_reply", "button_reply": {"id": "mon", "title": "Monday"}}
    assert message["context"]["id"] == wamid


def test_the_customer_chooses_a_list_row_with_its_description(fake, graph, receiver):
    interactive = {
        "type": "list",
        "body": {"text": "Pick a size"},
        "action": {
            "button": "Sizes",
            "sections": [{"title": "Shirts", "rows": [{"id": "m", "title": "Medium", "description": "Chest 100 cm"}]}],
        },
    }
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "interactive", "interactive": interactive}
    wamid = graph.post(f"/{PHONE_NUMBER_ID}/messages", json=body).json()["messages"][0]["id"]

    httpx.post(
        f"{fake.url}/_fake/customer",
        json={"phone_number_id": PHONE_NUMBER_ID, "wa_id": CUSTOMER, "type": "reply", "wamid": wamid, "choice": "m"},
    )

    reply = sent_message(receiver)["interactive"]
    assert reply == {"type": "list_reply", "list_reply": {"id": "m", "title": "Medium", "description": "Chest 100 cm"}}


def test_a_tap_on_a_choice_the_message_does_not_offer_is_refused(fake, graph):
    wamid = send_buttons(graph)

    answer = httpx.post(
        f"{fake.url}/_fake/customer",
        json={
            "phone_number_id": PHONE_NUMBER_ID,
            "wa_id": CUSTOMER,
            "type": "reply",
            "wamid": wamid,
            "choice": "Sunday",
        },
    )

    assert answer.status_code == 400 and "Sunday" in answer.json()["error"]["error_data"]["details"]


def test_the_customer_shares_a_place_a_contact_a_reaction_and_a_voice_note(fake, receiver):
    base = {"phone_number_id": PHONE_NUMBER_ID, "wa_id": CUSTOMER}
    card = payloads.contact_card("Ana Lima", "+351 912 000 000")
    sends = [
        {"type": "location", "latitude": 38.7, "longitude": -9.1, "place_name": "Shop", "address": "Rua Augusta 1"},
        {"type": "contacts", "cards": [card]},
        {"type": "reaction", "target_wamid": "wamid.OURS", "emoji": "👍"},
        {"type": "audio", "data": base64.b64encode(b"OggS-voice").decode(), "mime_type": "audio/ogg", "voice": True},
    ]
    for fields in sends:
        assert httpx.post(f"{fake.url}/_fake/customer", json=base | fields).status_code == 200

    place, contacts, reaction, voice = (sent_message(receiver) for _ in sends)
    assert place["location"] == {"latitude": 38.7, "longitude": -9.1, "name": "Shop", "address": "Rua Augusta 1"}
    assert contacts["contacts"][0]["name"]["formatted_name"] == "Ana Lima"
    assert reaction["reaction"] == {"message_id": "wamid.OURS", "emoji": "👍"}
    assert voice["audio"]["voice"] is True and voice["audio"]["id"] in fake.media


def test_interactive_messages_whatsapp_cannot_show_are_refused_with_131009(fake, graph):
    four = [{"type": "reply", "reply": {"id": str(n), "title": f"Choice {n}"}} for n in range(4)]
    interactive = {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": four}}
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "interactive", "interactive": interactive}

    refused = graph.post(f"/{PHONE_NUMBER_ID}/messages", json=body)

    assert refused.status_code == 400 and refused.json()["error"]["code"] == 131009
    assert fake.sent_messages() == []


def test_the_customers_phone_shows_what_the_business_read_and_its_typing(fake, graph):
    first = fake.customer_says(PHONE_NUMBER_ID, CUSTOMER, "One")
    second = fake.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Two")
    third = fake.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Three")
    unread = fake.business_side(PHONE_NUMBER_ID, CUSTOMER)
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": second}
    graph.post(f"/{PHONE_NUMBER_ID}/messages", json=read | {"typing_indicator": {"type": "text"}})
    typing = httpx.get(f"{fake.url}/_fake/customer", params={"phone_number_id": PHONE_NUMBER_ID, "wa_id": CUSTOMER})
    send_text(graph, "Here you are")
    answered = fake.business_side(PHONE_NUMBER_ID, CUSTOMER)

    assert unread == {"read": [], "typing": False}
    assert typing.json() == {"read": [first, second], "typing": True}
    assert answered == {"read": [first, second], "typing": False} and third not in answered["read"]


# The payload factory


def test_batch_merges_entries_of_the_same_account_and_keeps_others_apart():
    first = payloads.text_message(PHONE_NUMBER_ID, CUSTOMER, "one")
    second = payloads.status(PHONE_NUMBER_ID, "wamid.X", "read", CUSTOMER)
    other = payloads.text_message("42", CUSTOMER, "three", waba_id="OTHER")

    body = payloads.batch(first, second, other)

    assert [entry["id"] for entry in body["entry"]] == ["WABA_ID", "OTHER"]
    changes = body["entry"][0]["changes"]
    assert "messages" in changes[0]["value"] and "statuses" in changes[1]["value"]


def test_sign_matches_hmac_for_a_body_with_emoji_and_accents():
    body = payloads.encode(payloads.text_message(PHONE_NUMBER_ID, CUSTOMER, "Ça va? äöå 😀"))

    expected = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert payloads.sign(body, APP_SECRET) == f"sha256={expected}"
    assert b"\\u00e4\\u00f6\\u00e5" in body


def test_timestamps_are_strings_of_unix_seconds_and_failures_carry_errors():
    payload = payloads.status(
        PHONE_NUMBER_ID, "wamid.X", "failed", CUSTOMER, timestamp=1700000000, error_code=131047, error_details="late"
    )

    failed = only_status(payloads.encode(payload))

    assert failed["timestamp"] == "1700000000"
    assert failed["errors"][0]["code"] == 131047
    assert failed["errors"][0]["error_data"] == {"details": "late"}
    assert "pricing" not in failed


def test_pywa_parses_the_payloads_when_they_carry_a_business_scoped_user_id():
    # PyWA 4.5 reads contacts[0]["user_id"] unconditionally, so the plain shapes only parse raw.
    parsed = []
    wa = WhatsApp(token="unused", filter_updates=False, validate_updates=False)
    wa.add_handlers(
        pywa_handlers.MessageHandler(lambda _, update: parsed.append(update)),
        pywa_handlers.MessageStatusHandler(lambda _, update: parsed.append(update)),
    )

    text = payloads.text_message(PHONE_NUMBER_ID, CUSTOMER, "hi", wamid="wamid.A", user_id="US.1")
    delivered = payloads.status(PHONE_NUMBER_ID, "wamid.B", "delivered", CUSTOMER, tracker="t", user_id="US.1")

    wa.webhook_update_handler(payloads.encode(text))
    wa.webhook_update_handler(payloads.encode(delivered))

    message, status = parsed
    assert (message.id, message.text, message.from_user.wa_id) == ("wamid.A", "hi", CUSTOMER)
    assert (status.id, status.status.value, status.tracker) == ("wamid.B", "delivered", "t")


def test_the_workers_parser_reads_the_simulators_webhooks_without_a_business_scoped_user_id(fake, graph, receiver):
    """The simulator posts what Meta posted before its rollout, without `user_id`: the worker's
    parser (whatsapp/webhook/updates.py) still gets PyWA's typed update of each."""
    from whatsapp.webhook import ingest, updates

    fake.customer_says(PHONE_NUMBER_ID, CUSTOMER, "Olá", name="Zoë")
    send_text(graph, "Hello")
    bodies = [receiver.next_post()[1] for _ in range(4)]  # the customer's message; sent, delivered, read

    parser = updates.Parser()
    parsed = [parser.parse(kind, item) for body in bodies for kind, item in ingest.split_items(json.loads(body))]
    messages = [update for update in parsed if type(update).__name__ == "Message"]
    statuses = sorted(update.status.value for update in parsed if type(update).__name__ == "MessageStatus")
    assert [(update.text, update.from_user.name, update.from_user.wa_id) for update in messages] == [
        ("Olá", "Zoë", CUSTOMER)
    ]
    assert statuses == ["delivered", "read", "sent"]


# Templates, numbers and profiles


def create_template(graph, name="order_ready", **changes):
    body = {
        "name": name,
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": [["Ann"]]}}],
    }
    return graph.post("/WABA_ID/message_templates", json=body | changes)


def test_a_created_template_is_pending_until_the_review_webhook_says_otherwise(fake, graph, receiver):
    answer = create_template(graph).json()
    assert answer["status"] == "PENDING"
    assert fake.review_template(answer["id"], "REJECTED", reason="INVALID_FORMAT")
    headers, body = receiver.next_post()
    assert_signed(headers, body)
    change = json.loads(body)["entry"][0]["changes"][0]
    assert change["field"] == "message_template_status_update"
    assert change["value"]["event"] == "REJECTED" and change["value"]["message_template_id"] == int(answer["id"])
    assert fake.template(answer["id"])["status"] == "REJECTED"


def test_a_review_delay_approves_templates_by_itself(receiver):
    with FakeGraphAPI(status_delay=0.05, review_delay=0.05) as fake:
        fake.register_number(PHONE_NUMBER_ID, receiver.url, APP_SECRET, access_token=TOKEN)
        with httpx.Client(base_url=f"{fake.url}/v24.0", headers={"Authorization": f"Bearer {TOKEN}"}) as graph:
            template_id = create_template(graph).json()["id"]
        _, body = receiver.next_post()
        assert json.loads(body)["entry"][0]["changes"][0]["value"]["event"] == "APPROVED"
        assert fake.template(template_id)["status"] == "APPROVED"


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"name": "Bad Name"}, "lowercase"),
        ({"category": "SPAM"}, "Invalid category"),
        ({"components": [{"type": "BODY", "text": "Hi {{1}}"}]}, "needs an example"),
        ({"components": [{"type": "FOOTER", "text": "x"}]}, "BODY"),
    ],
)
def test_a_bad_template_is_refused_in_metas_shape(fake, graph, changes, said):
    response = create_template(graph, **changes)
    assert response.status_code == 400 and said in response.json()["error"]["error_data"]["details"]


def test_a_template_is_edited_and_deleted_by_name_and_id(fake, graph):
    template_id = create_template(graph).json()["id"]
    fake.review_template(template_id, "APPROVED")
    edited = {"components": [{"type": "BODY", "text": "Hello"}]}
    assert graph.post(f"/{template_id}", json=edited).json() == {"success": True}
    assert fake.template(template_id)["status"] == "PENDING"
    deleted = graph.delete("/WABA_ID/message_templates", params={"name": "order_ready", "hsm_id": template_id})
    assert deleted.json() == {"success": True} and fake.template(template_id) is None


def test_an_unregistered_number_is_listed_refuses_sends_and_registers_with_its_pin(fake, graph):
    fake.add_account_number("WABA_ID", "99", "15550009999", pin="135790")
    listed = {n["id"]: n for n in graph.get("/WABA_ID/phone_numbers").json()["data"]}
    assert listed["99"]["status"] == "PENDING" and listed[PHONE_NUMBER_ID]["status"] == "CONNECTED"
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "Hi"}}
    assert graph.post("/99/messages", json=body).json()["error"]["code"] == 133010
    wrong = graph.post("/99/register", json={"messaging_product": "whatsapp", "pin": "000000"})
    assert wrong.json()["error"]["code"] == 133005
    assert graph.post("/99/register", json={"messaging_product": "whatsapp", "pin": "135790"}).json() == {
        "success": True
    }
    assert graph.post("/99/messages", json=body).status_code == 200


def test_a_profile_photo_goes_up_through_a_resumable_upload_session(fake, graph):
    session = graph.post("/1234/uploads", params={"file_name": "p.png", "file_length": 4, "file_type": "image/png"})
    handle = graph.post(f"/{session.json()['id']}", content=b"\x89PNG", headers={"file_offset": "0"}).json()["h"]
    profile = {"messaging_product": "whatsapp", "about": "Bakery", "profile_picture_handle": handle}
    assert graph.post(f"/{PHONE_NUMBER_ID}/whatsapp_business_profile", json=profile).json() == {"success": True}
    data = graph.get(f"/{PHONE_NUMBER_ID}/whatsapp_business_profile").json()["data"][0]
    assert data["about"] == "Bakery" and data["profile_picture_url"].endswith(".jpg")
    assert fake.numbers[PHONE_NUMBER_ID].profile_photo == b"\x89PNG"


def test_another_process_can_have_a_template_reviewed_over_http(fake, graph, receiver):
    template_id = create_template(graph).json()["id"]
    review = {"event": "PAUSED", "reason": "LOW_QUALITY"}
    answer = httpx.post(f"{fake.url}/_fake/templates/{template_id}/review", json=review).json()
    assert answer == {"success": True, "delivered": True}
    _, body = receiver.next_post()
    assert json.loads(body)["entry"][0]["changes"][0]["value"]["event"] == "PAUSED"
    assert httpx.post(f"{fake.url}/_fake/templates/1/review", json=review).status_code == 404
