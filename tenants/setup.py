"""Idempotent set-up, shared by the commands and the demo: running twice changes nothing,
or updates in place."""

from django.contrib.auth import get_user_model
from django.db import transaction

from whatsapp.models import Connection, PhoneNumber
from whatsapp.sending import delivery

from . import audit
from .models import Membership, Tenant


@transaction.atomic
def create_tenant(
    slug, *, name, waba_id, phone_number_id, display_phone_number, access_token, app_secret, verify_token
):
    tenant, _ = Tenant.objects.update_or_create(slug=slug, defaults={"name": name})
    previous = Connection.objects.filter(tenant=tenant).first()
    connection, _ = Connection.objects.update_or_create(
        tenant=tenant,
        defaults={
            "waba_id": waba_id,
            "access_token": access_token,
            "app_secret": app_secret,
            "verify_token": verify_token,
        },
    )
    PhoneNumber.objects.update_or_create(
        tenant=tenant,
        phone_number_id=phone_number_id,
        defaults={"display_phone_number": display_phone_number},
    )
    if previous is not None and previous.access_token != access_token:
        delivery.token_replaced(connection)
    changed = [
        name
        for name in ("waba_id", "access_token", "app_secret", "verify_token")
        if previous is None or getattr(previous, name) != getattr(connection, name)
    ]
    if changed:
        action = (
            audit.Action.TOKEN_REPLACED
            if previous is not None and "access_token" in changed
            else audit.Action.CONNECTION_CHANGED
        )
        audit.record(tenant, action, target="WhatsApp connection", details={"fields": changed, "by": "create_tenant"})
    return tenant


@transaction.atomic
def add_member(tenant, email, *, role, password=None, name="", actor=None, request=None):
    """Add the person (made if new) with this role, or change their role. The audit log
    records either; `actor` is None for scripts. `password` is for the operator's scripts
    only (the add_member command, the demo): no page may pass one, since it would set the
    password of an account that may belong to another workspace. Pages invite instead."""
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, name=name)
    elif password and not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    previous = Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()
    membership, created = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    if created:
        audit.record(
            tenant, audit.Action.MEMBER_ADDED, actor=actor, target=user.email, details={"role": role}, request=request
        )
    elif previous != role:
        audit.record(
            tenant,
            audit.Action.MEMBER_ROLE_CHANGED,
            actor=actor,
            target=user.email,
            details={"from": previous, "to": role},
            request=request,
        )
    return membership
