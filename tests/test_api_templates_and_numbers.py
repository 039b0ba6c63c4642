"""Managing templates and business numbers through the API: each call goes through the
template and number actions the inbox's pages use, to the fake Graph API as Meta; Meta's
refusals carry its code, writes need the manage scope, and the audit log names the key."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tenants.models import AuditEvent, Role
from tenants.setup import add_member
from tests.support.api import ApiClient, is_problem, make_key
from tests.support.media_files import png
from tests.support.tenants import ACME, PASSWORD
from whatsapp.models import Connection, MessageTemplate, PhoneNumber
from whatsapp.simulator import payloads

PNID = ACME["phone_number_id"]
WABA = ACME["waba_id"]
SECOND = "333000333"
ORDER_UPDATE = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#1042"]}},
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order {{2}} ships today.",
            "example": {"body_text": [["Ann", "#1042"]]},
        },
        {"type": "FOOTER", "text": "Acme shop"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Thanks"},
                {
                    "type": "URL",
                    "text": "Track it",
                    "url": "https://acme.test/track/{{1}}",
                    "example": ["https://acme.test/track/1042"],
                },
            ],
        },
    ],
}


@pytest.fixture
def graph(fake_graph):
    """Acme's account at the fake: its number, and a second one not registered yet."""
    fake_graph.register_number(PNID, "", ACME["app_secret"], waba_id=WABA, access_token=ACME["access_token"])
    fake_graph.add_account_number(WABA, SECOND, "15550003333", verified_name="Acme Support", pin="246810")
    return fake_graph


@pytest.fixture
def api(acme):
    return ApiClient(make_key(acme, name="CRM")[1])


def created(api, **changes):
    response = api.post("/api/v1/templates", ORDER_UPDATE | changes)
    assert response.status_code == 201, response.content
    return response.json()


# --- Templates ----------------------------------------------------------------------------


def test_a_template_is_created_from_metas_body_and_answers_our_id_and_metas_status(api, graph):
    template = created(api)
    row = MessageTemplate.objects.get(pk=template["id"])
    at_meta = graph.template(template["meta_id"])
    assert (template["status"], template["category"], at_meta["status"]) == ("PENDING", "UTILITY", "PENDING")
    assert row.meta_id == template["meta_id"] and template["reason"] == ""
    assert at_meta["components"] == ORDER_UPDATE["components"]
    entry = AuditEvent.objects.get(action=AuditEvent.Action.TEMPLATE_SUBMITTED)
    assert entry.details["by"] == "API key CRM" and entry.actor is None


def test_lowercase_types_and_named_variables_are_taken_as_meta_takes_them(api, graph):
    body = {
        "type": "body",
        "text": "Hi {{first_name}}",
        "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ann"}]},
    }
    template = created(api, name="greeting", category="marketing", components=[body])
    at_meta = graph.template(template["meta_id"])
    assert at_meta["category"] == "MARKETING" and at_meta["components"][0]["text"] == "Hi {{first_name}}"


def with_example(api, file, template=None):
    image_header = {"type": "HEADER", "format": "IMAGE"}
    body = template or ORDER_UPDATE | {"components": [image_header, *ORDER_UPDATE["components"][1:]]}
    return api.upload("/api/v1/templates/with-example", {"template": json.dumps(body), "header_file": file})


def test_a_media_header_goes_with_its_example_file_uploaded_to_meta(api, graph, acme):
    Connection.objects.filter(tenant=acme).update(app_id="123456789")
    response = with_example(api, SimpleUploadedFile("shoe.png", png(), content_type="image/png"))
    assert response.status_code == 201, response.content
    [session] = graph.upload_sessions.values()
    assert (session["app_id"], session["file_type"], session["data"]) == ("123456789", "image/png", png())
    header = graph.template(response.json()["meta_id"])["components"][0]
    assert header == {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [session["handle"]]}}


@pytest.mark.parametrize(
    "template, content, status, said",
    [
        (None, b"just text", 422, "is not an image"),
        ("not json", png(), 400, "not valid JSON"),
        ('{"name": "x\\u0000"}', png(), 400, "NUL"),
        ({"name": "x", "language": "en_US"}, png(), 422, "category"),
        (ORDER_UPDATE, png(), 422, "IMAGE, VIDEO or DOCUMENT"),
    ],
)
def test_a_media_header_example_that_does_not_fit_is_refused(api, graph, acme, template, content, status, said):
    Connection.objects.filter(tenant=acme).update(app_id="123456789")
    is_png = content == png()
    file = SimpleUploadedFile(*(("shoe.png", content, "image/png") if is_png else ("notes.txt", content, "text/plain")))
    if isinstance(template, str):
        response = api.upload("/api/v1/templates/with-example", {"template": template, "header_file": file})
    else:
        response = with_example(api, file, template)
    assert said in json.dumps(is_problem(response, status))
    assert graph.templates.get(WABA, []) == [] and not MessageTemplate.objects.exists()


def test_a_template_reads_back_with_its_review_status_and_rejection_reason(api, graph, webhook, run_tasks):
    template = created(api)
    graph.review_template(template["meta_id"], "REJECTED")
    value = {
        "event": "REJECTED",
        "message_template_id": int(template["meta_id"]),
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "INVALID_FORMAT",
        "rejection_info": {"reason": "Parameters are next to each other.", "recommendation": "Add text."},
    }
    webhook.post(payloads.field_update("message_template_status_update", value, waba_id=WABA))
    run_tasks()
    read = api.get(f"/api/v1/templates/{template['id']}").json()
    assert read["status"] == "REJECTED"
    assert "INVALID_FORMAT" in read["reason"] and "Parameters are next to each other." in read["reason"]


def test_a_template_without_its_examples_is_refused_naming_the_field(api, graph):
    body = {"type": "BODY", "text": "Hi {{1}}, order {{2}}", "example": {"body_text": [["Ann"]]}}
    problem = is_problem(api.post("/api/v1/templates", ORDER_UPDATE | {"components": [body]}), 422, "validation-error")
    assert [error["loc"] for error in problem["errors"]] == [["body", "body_examples"]]
    assert "one example per line for each variable" in problem["detail"]
    assert not MessageTemplate.objects.exists() and graph.templates.get(WABA, []) == []


@pytest.mark.parametrize(
    "components",
    [
        [{"type": "CAROUSEL", "cards": []}],
        [{"type": "BODY", "text": "a"}, {"type": "BODY", "text": "b"}],
        [
            {"type": "BODY", "text": "a"},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "x", "url": "https://a.test"}] * 2},
        ],
        [{"type": "BODY", "text": "a"}, {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "x"}]}],
    ],
)
def test_components_the_inbox_does_not_make_are_a_422(api, graph, components):
    is_problem(api.post("/api/v1/templates", ORDER_UPDATE | {"components": components}), 422, "validation-error")
    assert graph.templates.get(WABA, []) == []


def test_metas_refusal_of_a_template_passes_its_code_through(api, graph):
    graph.add_template(WABA, "order_update", "Another text")  # made in WhatsApp Manager, not synced yet
    problem = is_problem(api.post("/api/v1/templates", ORDER_UPDATE), 422, "meta-error")
    assert problem["meta_code"] == 100 and "already exists" in problem["detail"]
    assert not MessageTemplate.objects.exists()


def test_a_template_is_deleted_at_meta_and_here(api, graph):
    template = created(api)
    assert api.delete(f"/api/v1/templates/{template['id']}").status_code == 204
    assert graph.template(template["meta_id"]) is None and not MessageTemplate.objects.exists()
    is_problem(api.get(f"/api/v1/templates/{template['id']}"), 404, "not-found")
    assert AuditEvent.objects.get(action=AuditEvent.Action.TEMPLATE_DELETED).details["by"] == "API key CRM"


def test_a_template_meta_no_longer_has_is_not_deleted_here_and_says_why(api, graph, acme):
    template = MessageTemplate.objects.create(
        tenant=acme, meta_id="404404", name="gone", language="en_US", status="APPROVED", category="UTILITY"
    )
    problem = is_problem(api.delete(f"/api/v1/templates/{template.pk}"), 422, "meta-error")
    assert problem["meta_code"] == 100
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


# --- Numbers ------------------------------------------------------------------------------


def test_the_accounts_numbers_are_listed_with_whether_each_is_in_the_workspace(api, graph):
    listed = {row["phone_number_id"]: row for row in api.get("/api/v1/numbers/account").json()["data"]}
    assert listed.keys() == {PNID, SECOND}
    assert (listed[PNID]["added"], listed[PNID]["needs_registration"]) == (True, False)
    assert (listed[SECOND]["added"], listed[SECOND]["needs_registration"]) == (False, True)
    assert listed[SECOND]["verified_name"] == "Acme Support"


def test_a_number_is_added_with_its_pin_and_removed(api, graph, acme):
    added = api.post("/api/v1/numbers", {"phone_number_id": SECOND, "pin": "246810"})
    assert added.status_code == 201, added.content
    assert added.json()["display_phone_number"] == "15550003333"
    assert graph.numbers[SECOND].registered
    assert {n["phone_number_id"] for n in api.get("/api/v1/numbers").json()["data"]} == {PNID, SECOND}
    removed = api.delete(f"/api/v1/numbers/{SECOND}")
    assert removed.status_code == 200 and removed.json() == {"conversations": 0, "messages": 0}
    assert not PhoneNumber.objects.filter(tenant=acme, phone_number_id=SECOND).exists()
    for action in (AuditEvent.Action.NUMBER_ADDED, AuditEvent.Action.NUMBER_REMOVED):
        assert AuditEvent.objects.get(action=action).details["by"] == "API key CRM"


def test_a_wrong_pin_is_metas_refusal_with_its_code(api, graph, acme):
    problem = is_problem(api.post("/api/v1/numbers", {"phone_number_id": SECOND, "pin": "000000"}), 422, "meta-error")
    assert problem["meta_code"] == 133005
    assert not PhoneNumber.objects.filter(tenant=acme, phone_number_id=SECOND).exists()


@pytest.mark.parametrize(
    "body, said",
    [
        ({"phone_number_id": SECOND}, "six-digit two-step verification PIN"),
        ({"phone_number_id": "444000444", "pin": "123456"}, "not a number of your WhatsApp Business Account"),
        ({"phone_number_id": PNID}, "in the workspace already"),
    ],
)
def test_a_number_that_cannot_be_added_says_why(api, graph, body, said):
    assert said in is_problem(api.post("/api/v1/numbers", body), 422, "action-refused")["detail"]


def test_the_only_number_is_not_removed(api, graph, acme):
    problem = is_problem(api.delete(f"/api/v1/numbers/{PNID}"), 422, "action-refused")
    assert "only number" in problem["detail"] and PhoneNumber.objects.filter(tenant=acme).count() == 1


def test_a_business_profile_is_read_and_changed_field_by_field(api, graph):
    assert api.get(f"/api/v1/numbers/{PNID}/profile").json()["about"] == "Hello"
    changed = api.patch(
        f"/api/v1/numbers/{PNID}/profile", {"description": "Shoes and more", "websites": ["https://acme.test"]}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["about"] == "Hello" and changed.json()["websites"] == ["https://acme.test"]
    profile = graph.numbers[PNID].profile
    assert (profile["about"], profile["description"]) == ("Hello", "Shoes and more")
    assert AuditEvent.objects.get(action=AuditEvent.Action.PROFILE_CHANGED).details["by"] == "API key CRM"


@pytest.mark.parametrize(
    "changes, said",
    [
        ({"about": ""}, "About"),
        ({"email": "not an address"}, "Email"),
        ({"websites": ["ftp://acme.test"]}, "Websites"),
        ({"vertical": "SPACESHIPS"}, "Industry"),
        ({"about": "x" * 140}, "at most 139"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_field(api, graph, changes, said):
    problem = is_problem(api.patch(f"/api/v1/numbers/{PNID}/profile", changes), 422, "action-refused")
    assert said in problem["detail"]


def test_a_number_not_in_the_workspace_is_a_404(api, graph):
    is_problem(api.get(f"/api/v1/numbers/{SECOND}/profile"), 404, "not-found")
    is_problem(api.delete(f"/api/v1/numbers/{SECOND}"), 404, "not-found")


# --- Scopes -------------------------------------------------------------------------------


def test_template_and_number_writes_need_the_manage_scope(acme, graph):
    template = MessageTemplate.objects.create(tenant=acme, meta_id="1", name="kept", language="en_US")
    api = ApiClient(make_key(acme, scopes=("read", "send"))[1])
    writes = [
        api.post("/api/v1/templates", ORDER_UPDATE),
        api.delete(f"/api/v1/templates/{template.pk}"),
        api.post("/api/v1/numbers", {"phone_number_id": SECOND, "pin": "246810"}),
        api.delete(f"/api/v1/numbers/{PNID}"),
        api.patch(f"/api/v1/numbers/{PNID}/profile", {"about": "Changed"}),
    ]
    for response in writes:
        assert is_problem(response, 403, "insufficient-scope")["required_scope"] == "manage"
    for path in (f"/api/v1/templates/{template.pk}", "/api/v1/numbers/account", f"/api/v1/numbers/{PNID}/profile"):
        assert api.get(path).status_code == 200, path
    assert graph.templates.get(WABA, []) == [] and not graph.numbers[SECOND].registered
    assert graph.numbers[PNID].profile in (None, {})


def test_an_admins_key_changes_no_number_as_the_admin_cannot_on_the_pages(acme, graph):
    admin = add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD).user
    owner = add_member(acme, "boss@acme.test", role=Role.OWNER, password=PASSWORD).user
    admins_key = ApiClient(make_key(acme, created_by=admin)[1])
    writes = [
        admins_key.post("/api/v1/numbers", {"phone_number_id": SECOND, "pin": "246810"}),
        admins_key.delete(f"/api/v1/numbers/{PNID}"),
        admins_key.patch(f"/api/v1/numbers/{PNID}/profile", {"about": "Changed"}),
    ]
    for response in writes:
        is_problem(response, 403, "insufficient-role")
    assert not graph.numbers[SECOND].registered and graph.numbers[PNID].profile in (None, {})
    assert admins_key.post("/api/v1/templates", ORDER_UPDATE).status_code == 201  # admins manage templates
    owners_key = ApiClient(make_key(acme, created_by=owner)[1])
    assert owners_key.post("/api/v1/numbers", {"phone_number_id": SECOND, "pin": "246810"}).status_code == 201
    acme.memberships.filter(user=owner).update(role=Role.ADMIN)  # the owner steps down: so does their key
    is_problem(owners_key.delete(f"/api/v1/numbers/{SECOND}"), 403, "insufficient-role")


def test_reading_needs_the_read_scope(acme, graph):
    template = MessageTemplate.objects.create(tenant=acme, meta_id="1", name="kept", language="en_US")
    api = ApiClient(make_key(acme, scopes=("send",))[1])
    for path in (f"/api/v1/templates/{template.pk}", "/api/v1/numbers/account", f"/api/v1/numbers/{PNID}/profile"):
        is_problem(api.get(path), 403, "insufficient-scope")
