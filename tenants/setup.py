"""Idempotent set-up, shared by the commands and the demo: running twice changes nothing,
or updates in place."""

from django.contrib.auth import get_user_model
from django.db import transaction

from whatsapp import delivery
from whatsapp.models import Connection, PhoneNumber

from .models import Membership, Tenant


@transaction.atomic
def create_tenant(slug, *, name, waba_id, phone_number_id, display_phone_number, access_token, app_secret,
                  verify_token):
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
    return tenant


@transaction.atomic
def add_member(tenant, email, *, role, password=None, name=""):
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, name=name)
    elif password and not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    membership, _ = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    return membership
