"""The API's resources: messages in Meta's shape, conversations, contacts, templates,
media and numbers, all through the named actions, with the fake Graph API as Meta."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from api.models import ContactImport
from tenants.models import AuditEvent
from tests.support.api import ApiClient, is_problem, make_key
from tests.support.media_files import png
from tests.support.tenants import ACME
from whatsapp.models import Contact, Conversation, Label, Message, MessageTemplate
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]
pytestmark = pytest.mark.filterwarnings(
    # The test client is sync; the CSV export streams from an async generator, as Daphne serves it.
    "ignore:StreamingHttpResponse must consume asynchronous iterators"
)
HELLO = {"name": "hello_world", "language": {"code": "en_US"}}


@pytest.fixture
def graph(fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token=ACME["access_token"])
    return fake_graph


@pytest.fixture
def conversation(acme, webhook, run_tasks):
    webhook.post(payloads.text_message(PNID, "15551234567", "Hi", name="Ada"))
    run_tasks()
    return Conversation.objects.get()


@pytest.fixture
def api(acme):
    return ApiClient(make_key(acme)[1])


def sent_body(graph):
    [sent] = graph.sent_messages(PNID)
    return sent["body"]


# --- Messages -----------------------------------------------------------------------------


def test_a_text_to_an_open_conversation_is_queued_then_sent_once(api, conversation, graph, run_tasks):
    response = api.post("/api/v1/messages", {"conversation_id": conversation.pk, "text": {"body": "Shipped 🚚"}})
    assert response.status_code == 201
    answer = response.json()
    assert answer["status"] == "queued" and answer["type"] == "text" and answer["direction"] == "out"
    run_tasks()
    assert sent_body(graph)["text"]["body"] == "Shipped 🚚"
    assert Message.objects.get(pk=answer["id"]).status == "sent"


def test_a_template_to_a_new_number_starts_a_conversation(api, acme, graph, run_tasks):
    graph.add_template(ACME["waba_id"], "hello_world", "Hello {{1}}")  # Meta checks the send against it
    template = {**HELLO, "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}]}
    response = api.post("/api/v1/messages", {"to": "+1 (415) 765-4321", "type": "template", "template": template})
    assert response.status_code == 201, response.content
    conversation = Conversation.objects.get(contact__wa_id="14157654321")
    assert response.json()["conversation_id"] == conversation.pk
    run_tasks()
    body = sent_body(graph)
    assert body["to"] == "14157654321" and body["template"] == template
    assert body["biz_opaque_callback_data"] == f"message:{response.json()['id']}"


def test_a_to_of_digits_alone_is_read_with_its_country_code_as_meta_reads_it(api, acme):
    acme.default_country = "US"
    acme.save(update_fields=["default_country"])
    response = api.post("/api/v1/messages", {"to": "447911123456", "type": "template", "template": HELLO})
    assert response.status_code == 201, response.content
    assert Conversation.objects.get(pk=response.json()["conversation_id"]).contact.wa_id == "447911123456"


def test_a_synced_template_shows_in_the_inbox_with_its_values_filled_in(api, acme):
    MessageTemplate.objects.create(
        tenant=acme, meta_id="t1", name="order_shipped", language="en_US", status="APPROVED",
        components=[{"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped."}],
    )  # fmt: skip
    parameters = [{"type": "text", "text": "Ada"}, {"type": "text", "text": "#42"}]
    template = {
        "name": "order_shipped",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": parameters}],
    }
    answer = api.post("/api/v1/messages", {"to": "+14157654321", "type": "template", "template": template}).json()
    assert answer["text"] == "Hi Ada, order #42 shipped."


def test_anything_but_a_template_to_a_closed_window_is_refused(api, acme):
    body = is_problem(
        api.post("/api/v1/messages", {"to": "+14157654321", "text": {"body": "Hi"}}), 422, "action-refused"
    )
    assert "template" in body["detail"]
    assert not Message.objects.exists()


def test_a_number_that_is_not_a_phone_number_is_refused(api, acme):
    is_problem(api.post("/api/v1/messages", {"to": "12", "type": "template", "template": HELLO}), 422)
    is_problem(api.post("/api/v1/messages", {"to": "abc", "type": "template", "template": HELLO}), 422)


def test_from_names_the_sending_number_by_id_or_number(api, acme):
    for sender in (PNID, "+15550001111"):
        body = {"to": "+14157654321", "from": sender, "type": "template", "template": HELLO}
        assert api.post("/api/v1/messages", body).status_code == 201
    body = {"to": "+14157654321", "from": "999", "type": "template", "template": HELLO}
    is_problem(api.post("/api/v1/messages", body), 422, "validation-error")


@pytest.mark.parametrize(
    "kind, value",
    [
        ("image", {"link": "https://shop.example/p.png", "caption": "Your parcel"}),
        ("document", {"link": "https://shop.example/invoice.pdf", "filename": "invoice.pdf"}),
        ("location", {"latitude": 52.52, "longitude": 13.405, "name": "Shop"}),
        (
            "interactive",
            {
                "type": "button",
                "body": {"text": "Deliver tomorrow?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]},
            },
        ),
        ("contacts", [{"name": {"formatted_name": "Support", "first_name": "Support"}}]),
        ("text", {"body": "See https://shop.example", "preview_url": True}),
    ],
)
def test_each_type_is_passed_to_meta_as_given_and_shows_in_the_inbox(
    api, conversation, graph, run_tasks, agent_client, kind, value
):
    response = api.post("/api/v1/messages", {"conversation_id": conversation.pk, "type": kind, kind: value})
    assert response.status_code == 201, response.content
    run_tasks()
    body = sent_body(graph)
    assert body["type"] == kind and body[kind] == value
    page = agent_client.get(f"/t/acme/inbox/c/{conversation.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="message-{response.json()["id"]}"' in html
    if kind == "interactive":
        assert 'aria-label="Reply buttons"><li>Yes</li>' in html and "Deliver tomorrow?" in html
        assert "Tapped a button" not in html


def test_a_reply_quotes_its_message_by_context(api, conversation, graph, run_tasks):
    inbound = conversation.messages.get()
    body = {"conversation_id": conversation.pk, "context": {"message_id": inbound.wamid}, "text": {"body": "Yes"}}
    assert api.post("/api/v1/messages", body).status_code == 201
    run_tasks()
    assert sent_body(graph)["context"]["message_id"] == inbound.wamid
    body["context"]["message_id"] = "wamid.unknown"
    is_problem(api.post("/api/v1/messages", body), 422, "validation-error")


def test_a_reaction_names_its_message(api, conversation, graph, run_tasks):
    inbound = conversation.messages.get()
    body = {
        "conversation_id": conversation.pk,
        "type": "reaction",
        "reaction": {"message_id": inbound.wamid, "emoji": "👍"},
    }
    assert api.post("/api/v1/messages", body).status_code == 201
    run_tasks()
    assert sent_body(graph)["reaction"] == {"message_id": inbound.wamid, "emoji": "👍"}


def test_an_uploaded_file_is_sent_by_its_media_id(api, conversation, graph, run_tasks):
    upload = SimpleUploadedFile("parcel.png", png(), content_type="image/png")
    response = api.upload("/api/v1/media", {"file": upload})
    assert response.status_code == 201, response.content
    media_id = response.json()["id"]
    assert (
        api.post(
            "/api/v1/messages", {"conversation_id": conversation.pk, "type": "image", "image": {"id": media_id}}
        ).status_code
        == 201
    )
    run_tasks()
    assert sent_body(graph)["image"] == {"id": media_id}


def test_an_upload_retried_with_its_idempotency_key_is_uploaded_once(api, graph):
    answers = [
        api.upload(
            "/api/v1/media",
            {"file": SimpleUploadedFile("parcel.png", png(), content_type="image/png")},
            headers={"Idempotency-Key": "upload-1"},
        )
        for _ in range(2)
    ]
    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json() == answers[1].json() and answers[1]["Idempotent-Replayed"] == "true"
    assert len(graph.uploaded(PNID)) == 1
    other = SimpleUploadedFile("parcel.png", png(rgb=(1, 2, 3)), content_type="image/png")
    is_problem(
        api.upload("/api/v1/media", {"file": other}, headers={"Idempotency-Key": "upload-1"}),
        422,
        "idempotency-key-reused",
    )


def test_a_stored_file_downloads_and_its_message_names_it(api, acme, owner):
    from tenants.models import Membership
    from tests.support.world import build_world

    world = build_world(acme, Membership.objects.get(user=owner, tenant=acme))
    photo = world.media_file.message
    assert api.get(f"/api/v1/messages/{photo.pk}").json()["media_file_id"] == world.media_file.pk
    response = api.get(f"/api/v1/media/{world.media_file.pk}")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png()
    world.media_file.state = "pending"
    world.media_file.save()
    is_problem(api.get(f"/api/v1/media/{world.media_file.pk}"), 409, "conflict")


def test_a_file_whatsapp_would_refuse_is_not_uploaded(api, graph):
    upload = SimpleUploadedFile("virus.exe", b"MZ\x90\x00", content_type="application/x-msdownload")
    is_problem(api.upload("/api/v1/media", {"file": upload}), 422, "validation-error")
    assert graph.uploaded(PNID) == []


def test_a_message_reads_back_with_its_status_history_and_error(api, conversation, graph, run_tasks, webhook):
    sent = api.post("/api/v1/messages", {"conversation_id": conversation.pk, "text": {"body": "Hi"}}).json()
    run_tasks()
    message = Message.objects.get(pk=sent["id"])
    for status in ("delivered", "read"):
        webhook.post(payloads.status(PNID, message.wamid, status, "15551234567", tracker=f"message:{message.pk}"))
    run_tasks()
    answer = api.get(f"/api/v1/messages/{message.pk}").json()
    assert answer["status"] == "read" and answer["wamid"] == message.wamid
    assert [status["status"] for status in answer["statuses"]] == ["delivered", "read"]
    assert answer["error"] is None


def test_meta_refusing_a_message_shows_its_code(api, conversation, graph, run_tasks):
    graph.script_error(code=131026, message="Message undeliverable")
    sent = api.post("/api/v1/messages", {"conversation_id": conversation.pk, "text": {"body": "Hi"}}).json()
    run_tasks()
    answer = api.get(f"/api/v1/messages/{sent['id']}").json()
    assert answer["status"] == "failed" and answer["error"]["code"] == 131026


# --- Conversations ------------------------------------------------------------------------


def test_conversations_list_with_the_inboxs_filters_and_cursor_paging(api, acme, webhook, run_tasks):
    for n in range(55):
        webhook.post(payloads.text_message(PNID, f"1555100{n:04d}", f"Hi {n}", name=f"C{n}"))
    run_tasks()
    first = api.get("/api/v1/conversations").json()
    assert len(first["data"]) == 50 and first["next_cursor"]
    second = api.get("/api/v1/conversations", cursor=first["next_cursor"]).json()
    assert len(second["data"]) == 5 and second["next_cursor"] is None
    ids = {row["id"] for row in first["data"] + second["data"]}
    assert len(ids) == 55
    assert api.get("/api/v1/conversations", status="resolved").json()["data"] == []
    is_problem(api.get("/api/v1/conversations", status="bogus"), 422)
    is_problem(api.get("/api/v1/conversations", cursor="x"), 422)


def test_a_conversation_changes_status_assignee_and_labels(api, acme, conversation, agent):
    label = Label.objects.create(tenant=acme, name="VIP")
    change = {"status": "resolved", "assignee": agent.email, "add_labels": [label.pk]}
    answer = api.post(f"/api/v1/conversations/{conversation.pk}", change).json()
    assert (answer["status"], answer["assignee"], answer["labels"]) == (
        "resolved",
        agent.email,
        [{"id": label.pk, "name": "VIP"}],
    )
    answer = api.post(f"/api/v1/conversations/{conversation.pk}", {"assignee": "", "remove_labels": [label.pk]}).json()
    assert answer["assignee"] is None and answer["labels"] == []
    is_problem(api.post(f"/api/v1/conversations/{conversation.pk}", {"assignee": "nobody@x.test"}), 422)


def test_assigning_others_needs_the_manage_scope(acme, conversation, agent):
    api = ApiClient(make_key(acme, scopes=["read", "send"])[1])
    is_problem(api.post(f"/api/v1/conversations/{conversation.pk}", {"assignee": agent.email}), 403)


def test_a_conversations_messages_come_newest_first_a_page_at_a_time(api, conversation, webhook, run_tasks):
    for n in range(60):
        webhook.post(payloads.text_message(PNID, "15551234567", f"Message {n}", name="Ada"))
    run_tasks()
    first = api.get(f"/api/v1/conversations/{conversation.pk}/messages").json()
    assert first["data"][0]["text"] == "Message 59" and len(first["data"]) == 50
    second = api.get(f"/api/v1/conversations/{conversation.pk}/messages", cursor=first["next_cursor"]).json()
    assert second["data"][-1]["text"] == "Hi" and second["next_cursor"] is None
    assert len(first["data"]) + len(second["data"]) == 61


# --- Contacts -----------------------------------------------------------------------------


def test_contacts_are_created_read_updated_searched_and_deleted_with_their_data(api, acme, conversation):
    made = api.post("/api/v1/contacts", {"wa_id": "+44 20 7946 0000", "name": "Bea", "attributes": {"plan": "gold"}})
    assert made.status_code == 201, made.content
    contact = made.json()
    assert (contact["wa_id"], contact["name"], contact["attributes"]) == ("442079460000", "Bea", {"plan": "gold"})
    is_problem(api.post("/api/v1/contacts", {"wa_id": "+442079460000"}), 409, "conflict")
    changed = api.patch(f"/api/v1/contacts/{contact['id']}", {"notes": "Prefers email", "blocked": True}).json()
    assert (changed["name"], changed["notes"], changed["blocked"]) == ("Bea", "Prefers email", True)
    assert [row["id"] for row in api.get("/api/v1/contacts", q="Bea").json()["data"]] == [contact["id"]]
    ada = conversation.contact
    assert api.delete(f"/api/v1/contacts/{ada.pk}").status_code == 204
    assert not Contact.objects.filter(pk=ada.pk).exists() and not Message.objects.exists()


def test_marketing_consent_is_recorded_as_an_opt_out_and_an_opt_in_with_its_source(api, conversation):
    path = f"/api/v1/contacts/{conversation.contact_id}/consent"
    stopped = api.post(path, {"marketing": "opt_out"})
    assert stopped.status_code == 200, stopped.content
    stopped = stopped.json()
    assert stopped["marketing_opted_out"] and stopped["marketing_opted_out_at"]
    assert stopped["marketing_opt_out_source"] == "recorded by API key Integration"
    agreed = api.post(path, {"marketing": "opt_in", "source": "signed up on the website"}).json()
    assert not agreed["marketing_opted_out"] and agreed["marketing_opted_in_at"]
    assert agreed["marketing_opt_in_source"] == "signed up on the website"
    entries = AuditEvent.objects.filter(action__in=["contact.opted_out", "contact.opted_in"])
    assert [entry.details["by"] for entry in entries] == ["API key Integration"] * 2


def test_an_opt_in_needs_where_the_customer_agreed(api, conversation):
    path = f"/api/v1/contacts/{conversation.contact_id}/consent"
    assert "Say where" in is_problem(api.post(path, {"marketing": "opt_in"}), 422, "action-refused")["detail"]
    is_problem(api.post(path, {"marketing": "maybe"}), 422, "validation-error")


def test_a_marketing_template_is_refused_to_a_contact_opted_out_through_the_api(api, acme, conversation, graph):
    MessageTemplate.objects.create(
        tenant=acme, meta_id="9", name="spring_sale", language="en_US", status="APPROVED", category="MARKETING",
        components=[{"type": "BODY", "text": "Spring sale!"}],
    )  # fmt: skip
    api.post(f"/api/v1/contacts/{conversation.contact_id}/consent", {"marketing": "opt_out", "source": "by phone"})
    template = {"name": "spring_sale", "language": {"code": "en_US"}}
    sent = api.post("/api/v1/messages", {"conversation_id": conversation.pk, "type": "template", "template": template})
    assert "opted out of marketing messages" in is_problem(sent, 422, "action-refused")["detail"]


def test_recording_consent_needs_the_manage_scope(acme, conversation):
    api = ApiClient(make_key(acme, scopes=("read", "send"))[1])
    path = f"/api/v1/contacts/{conversation.contact_id}/consent"
    is_problem(api.post(path, {"marketing": "opt_out"}), 403, "insufficient-scope")


def test_a_contacts_data_exports_as_a_zip(api, conversation):
    response = api.get(f"/api/v1/contacts/{conversation.contact_id}/export")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "contact.json" in archive.namelist()


def test_every_contact_exports_as_csv(api, conversation):
    response = api.get("/api/v1/contacts/export")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "wa_id" and rows[1][0] == "15551234567"


def test_a_csv_import_runs_as_a_job_with_progress(api, acme, run_tasks):
    lines = ["wa_id,name"] + [f"+1555200{n:04d},Person {n}" for n in range(1200)] + ["not-a-number,Bad"]
    upload = SimpleUploadedFile("contacts.csv", "\n".join(lines).encode(), content_type="text/csv")
    response = api.upload("/api/v1/contacts/imports", {"file": upload})
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["state"] == "queued"
    run_tasks()
    done = api.get(f"/api/v1/contacts/imports/{job['id']}").json()
    assert (done["state"], done["rows"], done["processed"], done["created"]) == ("done", 1200, 1200, 1200)
    assert done["errors"][0][0] == 1202
    assert ContactImport.objects.get().content == b""
    assert Contact.objects.filter(tenant=acme).count() == 1200


# --- Templates, numbers, docs ---------------------------------------------------------------


def test_templates_are_synced_from_meta_and_listed(api, acme, graph):
    graph.add_template(ACME["waba_id"], "order_shipped", "Hi {{1}}, your order shipped.")
    assert api.post("/api/v1/templates/sync").json() == {"templates": 1}
    [template] = api.get("/api/v1/templates").json()["data"]
    assert (template["name"], template["status"]) == ("order_shipped", "APPROVED")
    assert MessageTemplate.objects.filter(tenant=acme).count() == 1


def test_numbers_are_listed_and_checked_with_meta(api, graph):
    [number] = api.get("/api/v1/numbers").json()["data"]
    assert number["phone_number_id"] == PNID
    assert api.post("/api/v1/numbers/health").status_code == 200


def test_a_meta_error_passes_its_code_through(api, fake_graph):
    fake_graph.register_number(PNID, "", ACME["app_secret"], access_token="not-acmes-token")
    upload = SimpleUploadedFile("parcel.png", png(), content_type="image/png")
    body = is_problem(api.upload("/api/v1/media", {"file": upload}), 422, "meta-error")
    assert body["meta_code"] == 190 and "access token" in body["detail"]


def test_the_openapi_document_is_3_1_and_the_docs_are_served_by_the_app(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/messages" in document["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
    policy = docs["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "cdn" not in policy
