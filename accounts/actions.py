"""Changes a person makes to their own account's security: turning two factors on and off,
changing their password. Each is written in the audit log of every workspace the person
belongs to."""

import django_otp
from django.contrib.auth import update_session_auth_hash
from django.db import transaction

from tenants import audit


def turn_on_two_factor(request, device, code):
    """Confirm the authenticator app being set up with a code from it. From now on the
    person's logins ask for a code, and this session counts as having given one. Returns
    False, changing nothing, when the code is not right."""
    if not device.verify_token(code):
        return False
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit.record_for_member(device.user, audit.Action.TWO_FACTOR_ENABLED, request=request)
    django_otp.login(request, device)
    return True


def turn_off_two_factor(request, device):
    """Remove the person's authenticator app (the view has checked their password and a
    code, and that no workspace of theirs requires two factors)."""
    user = device.user
    with transaction.atomic():
        device.delete()
        audit.record_for_member(user, audit.Action.TWO_FACTOR_DISABLED, request=request)


def change_password(request, form):
    """Save the new password of Django's valid PasswordChangeForm. This session stays logged
    in; every other session of the person ends (their session hash no longer matches)."""
    with transaction.atomic():
        user = form.save()
        audit.record_for_member(user, audit.Action.PASSWORD_CHANGED, request=request)
    update_session_auth_hash(request, user)
    return user
