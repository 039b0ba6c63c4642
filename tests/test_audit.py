"""The audit log: what is recorded, who sees it, and that it cannot be changed."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from tenants import audit, invitations
from tenants.models import AppendOnly, AuditEvent, Invitation, Membership, Role
from tenants.setup import add_member, create_tenant
from tests.support.tenants import ACME, PASSWORD
from tests.support.two_factor import code, verify_session
from whatsapp.models import WebhookEvent

Action = AuditEvent.Action


def entries(tenant, action, **filters):
    """The tenant's entries of one kind (the fixtures' own set-up is recorded too: narrow
    with filters)."""
    return list(AuditEvent.objects.filter(tenant=tenant, action=action, **filters).order_by("pk"))


@pytest.fixture
def owner_client(owner):
    client = Client(REMOTE_ADDR="198.51.100.4")
    client.force_login(owner)
    return client


def test_a_sign_in_is_recorded_in_each_of_the_persons_workspaces(owner, acme, globex):
    add_member(globex, owner.email, role=Role.AGENT)
    Client(REMOTE_ADDR="198.51.100.4").post("/accounts/login/", {"username": owner.email, "password": PASSWORD})
    for tenant in (acme, globex):
        [entry] = entries(tenant, Action.LOGIN)
        assert (entry.actor, entry.actor_email, entry.ip) == (owner, owner.email, "198.51.100.4")


def test_failed_sign_ins_are_recorded_and_the_lockout_once(owner, acme, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 5):
        client.post("/accounts/login/", {"username": owner.email, "password": "wrong"})
    failed = entries(acme, Action.LOGIN_FAILED)
    assert len(failed) == settings.AXES_FAILURE_LIMIT - 1  # the last one turned into the lockout
    assert failed[0].details == {"step": "password"}
    assert len(entries(acme, Action.LOCKED_OUT)) == 1
    assert PASSWORD not in str([(e.target, e.details) for e in AuditEvent.objects.all()])


def test_an_unknown_email_writes_nothing(acme):
    Client().post("/accounts/login/", {"username": "nobody@acme.test", "password": "wrong"})
    assert not AuditEvent.objects.filter(action__startswith="auth.").exists()


def test_invitations_joins_role_changes_and_removals_are_recorded_with_who_and_where(owner, acme, owner_client):
    owner_client.post("/t/acme/members/", {"email": "new@acme.test", "role": "agent"})
    link = f"/invitations/{invitations.token_for(Invitation.objects.get(email='new@acme.test'))}/"
    Client(REMOTE_ADDR="203.0.113.9").post(
        link, {"new_password1": "a-good-first-passphrase", "new_password2": "a-good-first-passphrase"}
    )
    member = Membership.objects.get(user__email="new@acme.test")
    owner_client.post(f"/t/acme/members/{member.pk}/role/", {"role": "admin"})
    owner_client.post(f"/t/acme/members/{member.pk}/remove/")

    [invited], [accepted], [added], [changed], [removed] = (
        entries(acme, action, target="new@acme.test")
        for action in (
            Action.INVITATION_CREATED,
            Action.INVITATION_ACCEPTED,
            Action.MEMBER_ADDED,
            Action.MEMBER_ROLE_CHANGED,
            Action.MEMBER_REMOVED,
        )
    )
    assert (invited.actor, invited.details, invited.ip) == (owner, {"role": "agent", "renewed": False}, "198.51.100.4")
    assert (accepted.actor, accepted.ip) == (member.user, "203.0.113.9")
    assert (added.actor, added.target, added.details, added.ip) == (
        member.user,
        "new@acme.test",
        {"role": "agent"},
        "203.0.113.9",
    )
    assert changed.details == {"from": "agent", "to": "admin"} and changed.actor == owner
    assert removed.details == {"role": "admin"}
    assert "a-good-first-passphrase" not in str([event.details for event in AuditEvent.objects.all()])


def test_the_set_up_commands_record_as_the_system(acme):
    call_command("add_member", "acme", "script@acme.test", "--role", "agent", "--password", "a-script-passphrase-1")
    [entry] = entries(acme, Action.MEMBER_ADDED)
    assert entry.actor is None and entry.target == "script@acme.test"


def test_connection_changes_record_which_fields_never_their_values(acme, owner, owner_client):
    owner_client.post("/t/acme/connection/", {"waba_id": ACME["waba_id"], "app_secret": "a-new-app-secret-value"})
    owner_client.post("/t/acme/connection/", {"waba_id": ACME["waba_id"], "access_token": "EAAG-new-token-123456"})
    [changed] = entries(acme, Action.CONNECTION_CHANGED, actor=owner)
    [replaced] = entries(acme, Action.TOKEN_REPLACED, actor=owner)
    assert changed.details == {"fields": ["app_secret"]} and changed.actor == owner
    assert replaced.details == {"fields": ["access_token"]}
    everything = str(list(AuditEvent.objects.values()))
    assert "a-new-app-secret-value" not in everything and "EAAG-new-token-123456" not in everything


def test_a_token_replaced_from_the_command_line_is_recorded(acme):
    create_tenant("acme", **{**ACME, "access_token": "a-rotated-token-0123456789"})
    [entry] = entries(acme, Action.TOKEN_REPLACED)
    assert entry.details == {"fields": ["access_token"], "by": "create_tenant"}


def test_a_connection_changed_in_admin_is_recorded_with_the_staff_member(acme):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("root@platform.test", PASSWORD)
    client = Client()
    client.force_login(staff)
    verify_session(client, staff)  # admin requires a second factor
    page = client.get(f"/admin/tenants/tenant/{acme.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name in ("name", "slug", "read_receipts")
    }
    data.update(
        {
            "active": "on",
            "retention_days": "",
            "whatsapp-TOTAL_FORMS": "1",
            "whatsapp-INITIAL_FORMS": "1",
            "whatsapp-0-id": str(acme.whatsapp.pk),
            "whatsapp-0-tenant": str(acme.pk),
            "whatsapp-0-waba_id": "NEW_WABA",
            "phone_numbers-TOTAL_FORMS": "0",
            "phone_numbers-INITIAL_FORMS": "0",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        }
    )
    response = client.post(f"/admin/tenants/tenant/{acme.pk}/change/", data)
    assert response.status_code == 302, response.content[:3000]
    [entry] = entries(acme, Action.CONNECTION_CHANGED, actor=staff)
    assert entry.actor == staff and entry.details == {"fields": ["waba_id"]}


def test_replays_are_recorded_from_the_page_and_the_command(acme, owner_client, owner):
    event = WebhookEvent.objects.create(tenant=acme, body="{}", body_sha256="x", signature="valid", state="failed")
    owner_client.post(f"/t/acme/logs/{event.pk}/replay/")
    call_command("replay_webhooks", "--tenant", "acme", "--state", "pending")
    by_page, by_command = entries(acme, Action.WEBHOOK_REPLAYED)
    assert (by_page.actor, by_page.target) == (owner, f"Webhook {event.pk}")
    assert by_command.actor is None and by_command.details == {"by": "replay_webhooks", "ids": [event.pk]}


def test_two_factor_changes_and_password_changes_are_recorded(owner, acme, owner_client):
    owner_client.get("/accounts/2fa/")
    device = owner.totpdevice_set.get()
    owner_client.post("/accounts/2fa/", {"code": code(device)})
    owner_client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase-1",
            "new_password2": "another-long-passphrase-1",
        },
    )
    assert len(entries(acme, Action.TWO_FACTOR_ENABLED)) == 1
    assert len(entries(acme, Action.PASSWORD_CHANGED)) == 1


def test_a_wrong_code_turns_nothing_on_and_records_nothing(owner, acme, owner_client):
    owner_client.get("/accounts/2fa/")
    device = owner.totpdevice_set.get()
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"
    assert owner_client.post("/accounts/2fa/", {"code": wrong}).status_code == 400
    assert not owner.totpdevice_set.get().confirmed
    assert not entries(acme, Action.TWO_FACTOR_ENABLED)


def test_turning_two_factors_off_is_recorded(owner, acme, owner_client):
    owner_client.get("/accounts/2fa/")
    device = owner.totpdevice_set.get()
    owner_client.post("/accounts/2fa/", {"code": code(device)})
    device.refresh_from_db()
    owner_client.post("/accounts/2fa/", {"code": code(device, 1), "password": PASSWORD})
    assert not owner.totpdevice_set.exists()
    [entry] = entries(acme, Action.TWO_FACTOR_DISABLED)
    assert (entry.actor, entry.target) == (owner, owner.email)


def test_security_settings_changes_are_recorded(acme, owner_client):
    owner_client.post("/t/acme/security/", {"require_2fa": "", "retention_days": "90"})
    [entry] = entries(acme, Action.SETTINGS_CHANGED)
    assert entry.details == {"retention_days": [None, 90]}


# --- Append-only ------------------------------------------------------------------------------


def test_an_entry_cannot_be_changed_or_deleted_through_the_application(acme, owner):
    entry = audit.record(acme, Action.LOGIN, actor=owner, target=owner.email)
    entry.target = "someone else"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=entry.pk).update(target="rewritten")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=entry.pk).delete()
    assert AuditEvent.objects.get(pk=entry.pk).target == owner.email


def test_the_database_refuses_to_rewrite_an_entry(acme, owner):
    entry = audit.record(acme, Action.LOGIN, actor=owner, target=owner.email)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_auditevent SET target = 'rewritten' WHERE id = %s", [entry.pk])


def test_a_deleted_account_leaves_its_entries_with_the_email(acme, agent):
    entry = audit.record(acme, Action.LOGIN, actor=agent, target=agent.email)
    agent.delete()
    entry = AuditEvent.objects.get(pk=entry.pk)
    assert entry.actor is None and entry.actor_email == "agent@acme.test"


def test_admin_shows_entries_read_only(acme, owner):
    from django.contrib.auth import get_user_model

    entry = audit.record(acme, Action.LOGIN, actor=owner, target=owner.email)
    staff = get_user_model().objects.create_superuser("root@platform.test", PASSWORD)
    client = Client()
    client.force_login(staff)
    verify_session(client, staff)
    assert client.get("/admin/tenants/auditevent/").status_code == 200
    assert client.get("/admin/tenants/auditevent/add/").status_code == 403
    assert client.post(f"/admin/tenants/auditevent/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/tenants/auditevent/{entry.pk}/change/", {"target": "x"}).status_code == 403
    assert AuditEvent.objects.get(pk=entry.pk).target == owner.email


# --- The page ---------------------------------------------------------------------------------


def test_only_owners_see_the_audit_log(acme, owner, agent, outsider):
    add_member(acme, "admin@acme.test", role=Role.ADMIN)
    for user, status in [
        (owner, 200),
        (agent, 403),
        (Membership.objects.get(role=Role.ADMIN).user, 403),
        (outsider, 404),
    ]:
        client = Client()
        client.force_login(user)
        assert client.get("/t/acme/audit/").status_code == status, user
    assert Client().get("/t/acme/audit/")["Location"].startswith("/accounts/login/")
    owner_client = Client()
    owner_client.force_login(owner)
    assert owner_client.post("/t/acme/audit/").status_code == 405


def test_the_page_filters_by_action_and_date_and_pages_by_key(acme, globex, owner, owner_client, monkeypatch):
    monkeypatch.setattr("inbox.paging.PAGE_SIZE", 3)
    for number in range(5):
        audit.record(acme, Action.CONTACT_EXPORTED, actor=owner, target=f"Contact #{number}")
    audit.record(acme, Action.CONTACT_DELETED, actor=owner, target="Contact #9")
    audit.record(globex, Action.CONTACT_EXPORTED, actor=owner, target="Contact #globex")

    page = owner_client.get("/t/acme/audit/", {"action": "contact.exported"})
    assert [event.target for event in page.context["events"]] == ["Contact #4", "Contact #3", "Contact #2"]
    older = owner_client.get("/t/acme/audit/", {"action": "contact.exported", "before": page.context["older_before"]})
    assert [event.target for event in older.context["events"]] == ["Contact #1", "Contact #0"]
    assert b"Contact #globex" not in page.content + older.content and b"Contact #9" not in page.content
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert list(owner_client.get("/t/acme/audit/", {"since": tomorrow}).context["events"]) == []
