"""Admins create, edit and delete message templates through the Graph API (the fake one);
Meta's review comes back as a status webhook, shows on the templates page and is published."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tenants.models import AuditEvent, Role
from tenants.setup import add_member
from tests.support.media_files import png
from tests.support.tenants import ACME, PASSWORD, client_for
from whatsapp.models import Connection, MessageTemplate, WebhookEvent
from whatsapp.simulator import payloads
from whatsapp.templates_admin.drafts import Draft, DraftError

WABA = ACME["waba_id"]
ORDER_UPDATE = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "header": "Order {{1}}",
    "header_example": "#1042",
    "body": "Hi {{1}}, your order {{2}} ships today.",
    "body_examples": "Ann\n#1042",
    "footer": "Acme shop",
    "quick_replies": "Thanks\nStop updates",
    "url_text": "Track it",
    "url": "https://acme.test/track/{{1}}",
    "url_example": "https://acme.test/track/1042",
}


@pytest.fixture
def admin(acme):
    return add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD).user


@pytest.fixture
def admin_client(admin):
    return client_for(admin)


@pytest.fixture
def graph(fake_graph):
    """The fake Graph API, with acme's number registered in acme's account."""
    fake_graph.register_number(
        ACME["phone_number_id"], "", ACME["app_secret"], waba_id=WABA, access_token=ACME["access_token"]
    )
    return fake_graph


def submitted(admin_client, **changes):
    return admin_client.post("/t/acme/templates/new/", ORDER_UPDATE | changes)


def test_an_admin_submits_a_template_and_meta_has_it_pending(admin_client, graph, admin):
    response = submitted(admin_client)
    assert response.status_code == 302
    template = MessageTemplate.objects.get(name="order_update")
    at_meta = graph.template(template.meta_id)
    assert (template.status, at_meta["status"], at_meta["category"]) == ("PENDING", "PENDING", "UTILITY")
    kinds = [component["type"] for component in at_meta["components"]]
    assert kinds == ["HEADER", "BODY", "FOOTER", "BUTTONS"]
    body = at_meta["components"][1]
    assert body["example"] == {"body_text": [["Ann", "#1042"]]}
    buttons = at_meta["components"][3]["buttons"]
    assert [b["type"] for b in buttons] == ["QUICK_REPLY", "QUICK_REPLY", "URL"]
    assert buttons[2]["example"] == ["https://acme.test/track/1042"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.TEMPLATE_SUBMITTED)
    assert (event.actor, event.target) == (admin, "Template order_update (en_US)")


def test_named_variables_go_with_named_examples(admin_client, graph):
    body = "Hi {{first_name}}, your code is {{code}}."
    submitted(admin_client, header="", header_example="", body=body, body_examples="Ann\nX1")
    at_meta = graph.template(MessageTemplate.objects.get().meta_id)
    assert at_meta["components"][0]["example"] == {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Ann"},
            {"param_name": "code", "example": "X1"},
        ]
    }


def test_each_mistake_is_named_by_its_field_and_nothing_is_sent(admin_client, graph):
    response = submitted(
        admin_client, name="Order Update", body="Hi {{1}} and {{3}}", body_examples="Ann", url="ftp://x"
    )
    assert response.status_code == 400
    errors = response.context["errors"]
    assert set(errors) == {"name", "body", "body_examples", "url"}
    assert errors["name"].startswith("Name:") and "{{1}}" in errors["body"]
    assert graph.templates == {} and not MessageTemplate.objects.exists()


def test_meta_refusing_a_template_is_said_on_the_form(admin_client, graph):
    submitted(admin_client)
    MessageTemplate.objects.all().delete()  # as if made elsewhere: Meta refuses the duplicate
    response = submitted(admin_client)
    assert response.status_code == 400
    assert "already exists" in response.context["errors"]["__all__"]


def test_an_approval_webhook_makes_it_sendable_and_is_published(admin_client, graph, webhook, run_tasks, published):
    submitted(admin_client)
    template = MessageTemplate.objects.get()
    published()
    graph.review_template(template.meta_id, "APPROVED")  # Meta's side (the webhook is posted here)
    value = {
        "event": "APPROVED",
        "message_template_id": int(template.meta_id),
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "NONE",
    }
    webhook.post(payloads.field_update("message_template_status_update", value, waba_id=WABA))
    run_tasks()
    template.refresh_from_db()
    assert (template.status, template.reason) == ("APPROVED", "")
    events = [data for event, data in published() if event == "template.updated"]
    assert events and events[0]["status"] == "APPROVED" and "order_update" in events[0]["html"]


def test_a_rejection_shows_its_reason_on_the_templates_page(admin_client, graph, webhook, run_tasks):
    submitted(admin_client)
    template = MessageTemplate.objects.get()
    graph.review_template(template.meta_id, "REJECTED")
    value = {
        "event": "REJECTED",
        "message_template_id": int(template.meta_id),
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "INVALID_FORMAT",
        "rejection_info": {"reason": "Parameters are next to each other.", "recommendation": "Add text."},
    }
    webhook.post(payloads.field_update("message_template_status_update", value, waba_id=WABA))
    run_tasks()
    page = admin_client.get("/t/acme/templates/").content.decode()
    assert "rejected" in page and "INVALID_FORMAT — Parameters are next to each other." in page


def test_a_rejected_template_is_edited_and_goes_back_to_review(admin_client, graph, admin):
    submitted(admin_client)
    template = MessageTemplate.objects.get()
    graph.review_template(template.meta_id, "REJECTED")
    MessageTemplate.objects.filter(pk=template.pk).update(status="REJECTED", reason="INVALID_FORMAT")
    form = admin_client.get(f"/t/acme/templates/{template.pk}/edit/")
    assert form.context["values"]["body_examples"] == "Ann\n#1042"
    values = form.context["values"] | {"body": "Hello {{1}}, order {{2}} ships today."}
    response = admin_client.post(f"/t/acme/templates/{template.pk}/edit/", values)
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.status, template.reason, template.body_text) == (
        "PENDING",
        "",
        "Hello {{1}}, order {{2}} ships today.",
    )
    assert graph.template(template.meta_id)["components"][1]["text"] == template.body_text
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TEMPLATE_EDITED, actor=admin).exists()


def test_a_template_under_review_cannot_be_edited(admin_client, graph):
    submitted(admin_client)
    template = MessageTemplate.objects.get()
    response = admin_client.post(f"/t/acme/templates/{template.pk}/edit/", ORDER_UPDATE)
    assert response.status_code == 400
    assert "approved, rejected or paused" in response.context["errors"]["__all__"]


def test_deleting_a_template_deletes_it_at_meta_and_is_audited(admin_client, graph):
    submitted(admin_client)
    template = MessageTemplate.objects.get()
    assert admin_client.post(f"/t/acme/templates/{template.pk}/delete/").status_code == 302
    assert not MessageTemplate.objects.exists() and graph.template(template.meta_id) is None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TEMPLATE_DELETED).count() == 1


def test_an_authentication_template_gets_metas_one_time_code_shape(admin_client, graph):
    response = admin_client.post(
        "/t/acme/templates/new/", {"name": "login_code", "language": "en_US", "category": "AUTHENTICATION"}
    )
    assert response.status_code == 302
    at_meta = graph.template(MessageTemplate.objects.get().meta_id)
    assert at_meta["components"][2]["buttons"] == [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]


def test_a_draft_reads_back_from_its_components():
    draft = Draft.from_form(ORDER_UPDATE)
    template = MessageTemplate(name="order_update", language="en_US", category="UTILITY")
    template.components = draft.meta_components()["components"]
    assert Draft.from_template(template) == draft


def test_a_draft_with_mixed_variables_is_refused():
    with pytest.raises(DraftError) as refused:
        Draft.from_form(ORDER_UPDATE | {"body": "Hi {{1}} {{name}}", "body_examples": "a\nb"}).check()
    assert "not both" in refused.value.errors["body"]


@pytest.mark.parametrize("path", ["/t/acme/templates/new/"])
def test_agents_get_403_outsiders_404_and_strangers_the_login(agent_client, outsider_client, client, path, acme):
    assert agent_client.get(path).status_code == 403
    assert outsider_client.get(path).status_code == 404
    assert client.get(path).status_code == 302


def test_deleting_needs_post_and_an_admin(admin_client, agent_client, acme):
    template = MessageTemplate.objects.create(tenant=acme, meta_id="1", name="x", language="en_US")
    assert admin_client.get(f"/t/acme/templates/{template.pk}/delete/").status_code == 405
    assert agent_client.post(f"/t/acme/templates/{template.pk}/delete/").status_code == 403
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def test_an_image_header_goes_with_its_example_uploaded_to_meta(admin_client, graph, acme):
    Connection.objects.filter(tenant=acme).update(app_id="123456789")
    photo = SimpleUploadedFile("shoe.png", png(), content_type="image/png")
    response = submitted(admin_client, header_format="IMAGE", header="", header_example="", header_file=photo)
    assert response.status_code == 302
    [session] = graph.upload_sessions.values()
    assert (session["app_id"], session["file_type"], session["data"]) == ("123456789", "image/png", png())
    header = graph.template(MessageTemplate.objects.get().meta_id)["components"][0]
    assert header == {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [session["handle"]]}}


@pytest.mark.parametrize(
    ("app_id", "file", "said"),
    [
        ("123", None, "choose a file"),
        ("", ("shoe.png", "image/png"), "Meta app id"),
        ("123", ("notes.txt", "text/plain"), "is not an image"),
    ],
)
def test_a_media_header_needs_a_fitting_example_and_the_app_id(admin_client, graph, acme, app_id, file, said):
    Connection.objects.filter(tenant=acme).update(app_id=app_id)
    changes = {"header_format": "IMAGE", "header": "", "header_example": ""}
    if file:
        content = png() if file[1] == "image/png" else b"just text"
        changes["header_file"] = SimpleUploadedFile(file[0], content, content_type=file[1])
    response = submitted(admin_client, **changes)
    assert response.status_code == 400 and said in response.context["errors"]["header_file"]
    assert graph.templates == {}


def test_a_location_header_needs_no_example(admin_client, graph):
    assert submitted(admin_client, header_format="LOCATION", header="", header_example="").status_code == 302
    header = graph.template(MessageTemplate.objects.get().meta_id)["components"][0]
    assert header == {"type": "HEADER", "format": "LOCATION"}


def test_a_review_that_arrives_before_metas_answer_is_kept(admin_client, graph, webhook, monkeypatch):
    """Meta may send its webhook before the create call's answer is stored: the row the webhook
    made is completed, and its status kept."""
    from whatsapp.cloud import api as cloud_api
    from whatsapp.webhook import ingest

    create = cloud_api.create_template

    def create_then_review(connection, template):
        created = create(connection, template)
        review = payloads.template_status_update(created["id"], "order_update", "APPROVED", waba_id=WABA)
        assert webhook.post(review).status_code == 200
        # Only the review is processed (as the worker would): the template sync it also
        # enqueues would complete the row by itself and hide what submit_template does.
        ingest.process_event(WebhookEvent.objects.latest("pk"))
        assert MessageTemplate.objects.get().status == "APPROVED"
        return created

    monkeypatch.setattr(cloud_api, "create_template", create_then_review)
    assert submitted(admin_client).status_code == 302
    template = MessageTemplate.objects.get()
    assert (template.status, template.language, template.body_text) == (
        "APPROVED",
        "en_US",
        "Hi {{1}}, your order {{2}} ships today.",
    )
