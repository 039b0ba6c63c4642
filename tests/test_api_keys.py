"""API keys: made by admins or by create_api_key, shown once, stored as a keyed hash,
scoped, revocable and expiring at once, and blind to other workspaces."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from api.models import ApiKey, ContactImport
from hooks.models import Delivery, Endpoint
from tenants.models import AuditEvent
from tests.support.api import ApiClient, is_problem, make_key
from tests.support.tenants import ACME, GLOBEX
from whatsapp.models import Contact, Conversation, MessageTemplate, PhoneNumber
from whatsapp.simulator import payloads


@pytest.fixture
def acme_conversation(webhook, run_tasks):
    webhook.post(payloads.text_message(ACME["phone_number_id"], "15551234567", "Hi", name="Ada"))
    run_tasks()
    return Conversation.objects.get(tenant__slug="acme")


def test_the_command_prints_the_key_alone_on_its_last_line_and_it_works(acme):
    out = StringIO()
    call_command("create_api_key", "acme", "--name", "Shop", "--scopes", "read,send", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("wai_") and " " not in key
    assert ApiClient(key).get("/api/v1/numbers").status_code == 200
    assert ApiKey.objects.get().scopes == ["read", "send"]


def test_the_command_refuses_an_unknown_scope_or_workspace(acme):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Scopes"):
        call_command("create_api_key", "acme", "--name", "Shop", "--scopes", "read,admin", stdout=StringIO())
    with pytest.raises(CommandError, match="No tenant"):
        call_command("create_api_key", "nope", "--name", "Shop", stdout=StringIO())


def test_only_a_keyed_hash_of_the_secret_is_stored(acme):
    key, raw = make_key(acme)
    secret = raw.removeprefix("wai_").partition("_")[2]  # the secret itself may hold "_"
    assert len(secret) >= 40
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert all(secret not in str(value) for value in stored.values())
    assert len(key.secret_hash) == 64


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer wai_nothing_here", "Basic abc", "Bearer wai_"])
def test_a_missing_or_unknown_key_gets_401_as_a_problem(acme, client, header):
    response = client.get("/api/v1/conversations", headers={"Authorization": header} if header else {})
    is_problem(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_secret_with_a_real_prefix_gets_401(acme):
    _, raw = make_key(acme)
    is_problem(ApiClient(raw[:-3] + "xyz").get("/api/v1/numbers"), 401, "unauthorized")


def test_a_revoked_key_is_refused_on_its_next_request(acme, owner):
    key, raw = make_key(acme)
    api = ApiClient(raw)
    assert api.get("/api/v1/numbers").status_code == 200
    from api import keys

    keys.revoke_key(key, by=owner)
    is_problem(api.get("/api/v1/numbers"), 401, "unauthorized")


def test_an_expired_key_is_refused(acme):
    key, raw = make_key(acme, expires_at=timezone.now() + timedelta(hours=1))
    assert ApiClient(raw).get("/api/v1/numbers").status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    is_problem(ApiClient(raw).get("/api/v1/numbers"), 401, "unauthorized")


def test_a_key_of_an_inactive_workspace_is_refused(acme):
    _, raw = make_key(acme)
    acme.active = False
    acme.save()
    is_problem(ApiClient(raw).get("/api/v1/numbers"), 401)


def test_use_is_recorded_as_last_used(acme):
    key, raw = make_key(acme)
    ApiClient(raw).get("/api/v1/numbers")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_a_key_of_one_workspace_sees_nothing_of_another(acme, globex, acme_conversation):
    _, globex_key = make_key(globex)
    api = ApiClient(globex_key)
    contact = acme_conversation.contact
    message = acme_conversation.messages.get()
    is_problem(api.get(f"/api/v1/conversations/{acme_conversation.pk}"), 404, "not-found")
    is_problem(api.get(f"/api/v1/conversations/{acme_conversation.pk}/messages"), 404, "not-found")
    is_problem(api.get(f"/api/v1/messages/{message.pk}"), 404, "not-found")
    is_problem(api.get(f"/api/v1/contacts/{contact.pk}"), 404, "not-found")
    is_problem(api.delete(f"/api/v1/contacts/{contact.pk}"), 404, "not-found")
    is_problem(api.post("/api/v1/messages", {"conversation_id": acme_conversation.pk, "text": {"body": "x"}}), 404)
    assert api.get("/api/v1/conversations", status="all").json()["data"] == []
    assert api.get("/api/v1/contacts").json()["data"] == []
    assert [n["phone_number_id"] for n in api.get("/api/v1/numbers").json()["data"]] == [GLOBEX["phone_number_id"]]
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_a_read_key_cannot_send_or_change(acme, acme_conversation):
    _, raw = make_key(acme, scopes=["read"])
    api = ApiClient(raw)
    assert api.get(f"/api/v1/conversations/{acme_conversation.pk}").status_code == 200
    body = is_problem(
        api.post("/api/v1/messages", {"conversation_id": acme_conversation.pk, "text": {"body": "x"}}),
        403,
        "insufficient-scope",
    )
    assert body["required_scope"] == "send"
    is_problem(api.post(f"/api/v1/conversations/{acme_conversation.pk}", {"status": "resolved"}), 403)
    is_problem(api.delete(f"/api/v1/contacts/{acme_conversation.contact_id}"), 403)
    assert acme_conversation.messages.count() == 1


def test_a_send_key_cannot_manage_contacts(acme, acme_conversation):
    _, raw = make_key(acme, scopes=["send"])
    api = ApiClient(raw)
    is_problem(api.get("/api/v1/contacts"), 403, "insufficient-scope")
    is_problem(api.post("/api/v1/contacts", {"wa_id": "+15550009999"}), 403, "insufficient-scope")
    is_problem(api.delete(f"/api/v1/contacts/{acme_conversation.contact_id}"), 403, "insufficient-scope")


def test_a_logged_in_session_does_not_reach_the_api(acme, owner, client):
    client.force_login(owner)
    is_problem(client.get("/api/v1/conversations"), 401, "unauthorized")


def test_a_key_opens_no_page(acme, client):
    _, raw = make_key(acme)
    response = client.get("/t/acme/inbox/", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_admin_makes_a_key_on_the_settings_page_and_sees_it_once(acme, tenant_admin_client):
    response = tenant_admin_client.post(
        "/t/acme/settings/api-keys/", {"name": "CRM", "scopes": ["read", "manage"], "rate_limit_per_second": "5"}
    )
    assert response.status_code == 200
    raw = response.context["new_key"]
    assert raw in response.content.decode() and response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get()
    assert (key.name, key.scopes, key.per_second) == ("CRM", ["read", "manage"], 5)
    assert ApiClient(raw).get("/api/v1/numbers").status_code == 200
    listed = tenant_admin_client.get("/t/acme/settings/api-keys/").content.decode()
    assert raw not in listed and key.prefix in listed
    created = AuditEvent.objects.get(action="api_key.created")
    assert (created.actor_email, created.target) == ("admin@acme.test", "CRM")


def test_an_admin_revokes_a_key_and_it_is_audited(acme, tenant_admin_client):
    key, raw = make_key(acme)
    response = tenant_admin_client.post(f"/t/acme/settings/api-keys/{key.pk}/revoke/")
    assert response.status_code == 302
    is_problem(ApiClient(raw).get("/api/v1/numbers"), 401)
    assert AuditEvent.objects.get(action="api_key.revoked").target == "Integration"


def test_a_bad_new_key_form_is_a_400_with_the_reason(acme, tenant_admin_client):
    response = tenant_admin_client.post("/t/acme/settings/api-keys/", {"name": "", "scopes": ["root"]})
    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_the_keys_page_is_for_admins(acme, agent_client, outsider_client, tenant_admin_client):
    assert tenant_admin_client.get("/t/acme/settings/api-keys/").status_code == 200
    assert agent_client.get("/t/acme/settings/api-keys/").status_code == 403
    assert outsider_client.get("/t/acme/settings/api-keys/").status_code == 404
    assert tenant_admin_client.put("/t/acme/settings/api-keys/").status_code == 405


def test_another_workspaces_key_cannot_be_revoked(acme, globex, tenant_admin_client):
    key, _ = make_key(globex)
    assert tenant_admin_client.post(f"/t/acme/settings/api-keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_what_a_key_does_is_audited_as_the_api_key(acme, acme_conversation):
    _, raw = make_key(acme, name="CRM sync")
    assert ApiClient(raw).delete(f"/api/v1/contacts/{acme_conversation.contact_id}").status_code == 204
    deleted = AuditEvent.objects.get(action="contact.deleted")
    assert deleted.details["by"] == "API key CRM sync" and deleted.actor is None


# A body every operation with one takes, so that each reaches its lookup of the object.
BODY = '{"status": "resolved", "name": "x", "marketing": "opt_out", "since": "2020-01-01T00:00:00Z"}'


def test_another_workspaces_key_gets_404_on_every_operation_with_real_ids(acme, owner, globex, client):
    """Every operation of the OpenAPI document that names an object, with acme's real ids and
    globex's key of every scope: 404, and acme's data is as it was."""
    from tenants.models import Membership
    from tests.support.world import build_world

    world = build_world(acme, Membership.objects.get(user=owner, tenant=acme))
    ids = {
        "conversation_id": world.conversation.pk,
        "message_id": world.message.pk,
        "contact_id": world.contact.pk,
        "media_file_id": world.media_file.pk,
        "import_id": ContactImport.objects.create(tenant=acme).pk,
        "template_id": world.template.pk,
        "phone_number_id": world.conversation.phone_number.phone_number_id,
        "endpoint_id": world.endpoint.pk,
        "delivery_id": world.delivery.pk,
    }
    api = ApiClient(make_key(globex, rate_limit_per_second=10_000)[1])

    def acmes_data():
        return (
            Contact.objects.filter(tenant=acme).count(),
            Contact.objects.filter(tenant=acme, marketing_opted_out=True).count(),
            Conversation.objects.get(pk=world.conversation.pk).status,
            list(MessageTemplate.objects.filter(tenant=acme).values_list("pk", flat=True)),
            list(PhoneNumber.objects.filter(tenant=acme).values_list("phone_number_id", flat=True)),
            list(Endpoint.objects.filter(tenant=acme).values_list("pk", "url", "secret", "active")),
            list(Delivery.objects.filter(endpoint__tenant=acme).values_list("pk", "status", "next_attempt_at")),
        )

    before = acmes_data()
    walked = 0
    for path, operations in client.get("/api/v1/openapi.json").json()["paths"].items():
        if "{" not in path or path.startswith("/api/v1/problems/"):  # problem types: public, no data
            continue
        for name, value in ids.items():
            path = path.replace("{" + name + "}", str(value))
        assert "{" not in path, f"{path}: add its id to this walk"
        for method in operations:
            body = BODY if method in ("post", "patch") else ""
            response = api.request(method.upper(), path, body)
            is_problem(response, 404, "not-found")
            walked += 1
    assert walked >= 10
    assert acmes_data() == before
