"""Non-interactive set-up: create_tenant and add_member, idempotent; admin masks secrets."""

import pytest
from django.core.management import CommandError, call_command

from tenants.models import Membership, Tenant
from whatsapp.models import Connection, PhoneNumber

ARGS = [
    "acme",
    "--name=Acme",
    "--waba-id=W1",
    "--phone-number-id=P1",
    "--display-phone-number=15550001111",
    "--access-token=token-one-0123456789",
    "--app-secret=secret-one-0123456789",
    "--verify-token=verify-one",
]


@pytest.mark.django_db
def test_create_tenant_twice_changes_nothing():
    call_command("create_tenant", *ARGS)
    call_command("create_tenant", *ARGS)
    assert Tenant.objects.count() == 1
    assert PhoneNumber.objects.count() == 1
    assert Connection.objects.get().access_token == "token-one-0123456789"


@pytest.mark.django_db
def test_create_tenant_updates_in_place():
    call_command("create_tenant", *ARGS)
    call_command("create_tenant", *ARGS[:-3], "--access-token=token-two-0123456789", *ARGS[-2:])
    assert Connection.objects.get().access_token == "token-two-0123456789"


@pytest.mark.django_db
def test_add_member_twice_keeps_one_membership_and_updates_the_role():
    call_command("create_tenant", *ARGS)
    call_command("add_member", "acme", "Ann@Example.com", "--role=agent", "--password=a-long-passphrase-42")
    call_command("add_member", "acme", "ann@example.com", "--role=admin", "--password=a-long-passphrase-42")
    membership = Membership.objects.get()
    assert (membership.user.email, membership.role) == ("ann@example.com", "admin")
    assert membership.user.check_password("a-long-passphrase-42")


@pytest.mark.django_db
def test_add_member_to_an_unknown_tenant_is_a_clear_error():
    with pytest.raises(CommandError, match="create it first"):
        call_command("add_member", "nobody", "a@example.com", "--role=agent")


@pytest.mark.django_db
def test_add_member_refuses_a_weak_password():
    call_command("create_tenant", *ARGS)
    with pytest.raises(CommandError, match="Password rejected"):
        call_command("add_member", "acme", "a@example.com", "--password=123")


@pytest.mark.django_db
def test_admin_never_shows_a_secret_in_full(admin_client, acme):
    response = admin_client.get(f"/admin/tenants/tenant/{acme.pk}/change/")
    assert response.status_code == 200
    for secret in ("acme-access-token-0123456789", "acme-app-secret-0123456789"):
        assert secret.encode() not in response.content
    assert "…6789".encode() in response.content


@pytest.mark.django_db
def test_admin_keeps_a_secret_left_blank(admin_client, acme):
    from django.test import Client  # noqa: F401

    page = admin_client.get(f"/admin/tenants/tenant/{acme.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "slug": "acme",
            "name": "Acme Renamed",
            "active": "on",
            "whatsapp-TOTAL_FORMS": "1",
            "whatsapp-INITIAL_FORMS": "1",
            "whatsapp-MIN_NUM_FORMS": "0",
            "whatsapp-MAX_NUM_FORMS": "1",
            "whatsapp-0-id": str(acme.whatsapp.pk),
            "whatsapp-0-tenant": str(acme.pk),
            "whatsapp-0-waba_id": "ACME_WABA",
            "whatsapp-0-app_secret": "",
            "whatsapp-0-verify_token": "",
            "whatsapp-0-access_token": "a-brand-new-token-000000",
            "phone_numbers-TOTAL_FORMS": "0",
            "phone_numbers-INITIAL_FORMS": "0",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        }
    )
    response = admin_client.post(f"/admin/tenants/tenant/{acme.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    connection = Connection.objects.get(tenant=acme)
    assert connection.access_token == "a-brand-new-token-000000"
    assert connection.app_secret == "acme-app-secret-0123456789"


@pytest.mark.django_db
def test_rotating_the_encryption_key_keeps_every_secret_readable(acme, settings):
    from cryptography.fernet import Fernet

    from inbox import crypto

    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    call_command("rotate_encryption_key")
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key is gone
    crypto._fernet.cache_clear()
    assert Connection.objects.get().access_token == "acme-access-token-0123456789"


@pytest.mark.django_db
def test_schedule_maintenance_keeps_exactly_one_job_waiting():
    from django_tasks_db.models import DBTaskResult

    call_command("schedule_maintenance")
    call_command("schedule_maintenance")
    assert DBTaskResult.objects.filter(task_path="whatsapp.maintenance.maintain_delivery", status="READY").count() == 1
