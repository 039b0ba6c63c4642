"""Sign-ins for the audit log. Django and django-axes announce them with signals; these
receivers only write the log (no domain flow runs through them)."""

from datetime import timedelta

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from . import audit
from .models import AuditEvent


def _known_user(username):
    if not username:
        return None
    return get_user_model().objects.filter(email__iexact=str(username).strip()).first()


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def record_sign_in(sender, request, user, **kwargs):
    audit.record_for_member(user, audit.Action.LOGIN, request=request)


@receiver(user_login_failed, dispatch_uid="audit_failed_sign_in")
def record_failed_sign_in(sender, credentials, request=None, **kwargs):
    """A wrong password for someone's email. Attempts refused while locked out are not
    written one by one (the lockout itself is), so a flood cannot grow the log unbounded."""
    if request is not None and getattr(request, "axes_locked_out", False):
        return
    user = _known_user((credentials or {}).get("username"))
    if user is not None:
        audit.record_for_member(
            user, audit.Action.LOGIN_FAILED, request=request, actor=user, details={"step": "password"}
        )


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def record_lockout(sender, request=None, username=None, **kwargs):
    """Axes announces the lockout again on every refused attempt: one entry per cool-off."""
    user = _known_user(username)
    if user is None:
        return
    since = timezone.now() - (settings.AXES_COOLOFF_TIME or timedelta(hours=1))
    recent = AuditEvent.objects.filter(action=audit.Action.LOCKED_OUT, target=user.email, created_at__gte=since)
    with transaction.atomic():
        # Concurrent guesses reach the limit together: the person's row serialises them.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if not recent.exists():
            audit.record_for_member(user, audit.Action.LOCKED_OUT, request=request, actor=user)
