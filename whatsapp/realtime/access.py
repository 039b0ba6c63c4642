"""Who may keep a live connection open. A socket is let in on what a page would let in
(a member of an active workspace, whose session passed two factors where the workspace asks
for them) and keeps its access only while all of that still holds: the consumer re-checks on
every `access.changed` event and on a timer, and closes when the check fails.

The events come from the receivers at the bottom, which connect in `apps.py`."""

from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.crypto import constant_time_compare

from accounts.two_factor import scope_is_verified
from tenants.models import Membership, Tenant
from whatsapp.realtime import events as realtime


@dataclass(frozen=True)
class Grant:
    """What a socket was let in with."""

    user_id: int
    membership_id: int
    role: str
    tenant_id: int
    session_key: str
    session_hash: str


def grant_access(user, slug, session):
    """The grant for this person's socket to the workspace `slug`, or None: not a member, the
    workspace inactive, or two factors required and not passed by this session."""
    if not (user and user.is_authenticated) or session is None or not session.session_key:
        return None
    membership = (
        Membership.objects.select_related("tenant").filter(user=user, tenant__slug=slug, tenant__active=True).first()
    )
    if membership is None or (membership.tenant.require_2fa and not scope_is_verified(user, session)):
        return None
    return Grant(
        user.pk,
        membership.pk,
        membership.role,
        membership.tenant_id,
        session.session_key,
        session.get(HASH_SESSION_KEY, ""),
    )


def access_still_valid(grant):
    """True while everything the grant rested on still holds, read afresh from the database:
    the person is active and still has this membership with this role in an active workspace;
    the session still exists, still logs this person in, and its hash still matches their
    password; and it passed two factors if the workspace now requires them. Reads only."""
    membership = (
        Membership.objects.select_related("tenant", "user")
        .filter(
            pk=grant.membership_id,
            user_id=grant.user_id,
            tenant_id=grant.tenant_id,
            role=grant.role,
            tenant__active=True,
            user__is_active=True,
        )
        .first()
    )
    if membership is None:
        return False
    # A session that has been deleted or has expired loads as empty.
    session = import_module(settings.SESSION_ENGINE).SessionStore(grant.session_key)
    if str(session.get(SESSION_KEY)) != str(grant.user_id):
        return False
    session_hash = session.get(HASH_SESSION_KEY, "")
    if not (
        constant_time_compare(session_hash, grant.session_hash)
        and constant_time_compare(session_hash, membership.user.get_session_auth_hash())
    ):
        return False
    return not membership.tenant.require_2fa or scope_is_verified(membership.user, session)


# Model and auth signals, not the actions, announce these changes: a security invariant that
# must hold whichever path wrote the row (views, Django admin, management commands, a shell).


def _may_have_changed(created, raw, update_fields, fields):
    """Whether a save may have written one of `fields` to an existing row."""
    return not created and not raw and (update_fields is None or not fields.isdisjoint(update_fields))


@receiver(post_delete, sender=Membership, dispatch_uid="live_access_membership_removed")
def membership_removed(sender, instance, **kwargs):
    realtime.access_changed(user_id=instance.user_id)


@receiver(post_save, sender=Membership, dispatch_uid="live_access_membership_saved")
def membership_saved(sender, instance, created, raw, update_fields, **kwargs):
    if _may_have_changed(created, raw, update_fields, {"role"}):
        realtime.access_changed(user_id=instance.user_id)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="live_access_person_saved")
def person_saved(sender, instance, created, raw, update_fields, **kwargs):
    """Deactivated, or a new password (which ends their other sessions)."""
    if _may_have_changed(created, raw, update_fields, {"is_active", "password"}):
        realtime.access_changed(user_id=instance.pk)


@receiver(post_save, sender=Tenant, dispatch_uid="live_access_workspace_saved")
def workspace_saved(sender, instance, created, raw, update_fields, **kwargs):
    if (not instance.active or instance.require_2fa) and _may_have_changed(
        created, raw, update_fields, {"active", "require_2fa"}
    ):
        realtime.access_changed(tenant_id=instance.pk)


@receiver(user_logged_out, dispatch_uid="live_access_logged_out")
def logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    # logout() flushes the session just after this signal; deleting it from the store first
    # means the re-check this event triggers cannot still find it (the flush then finds none).
    request.session.delete()
    realtime.access_changed(user_id=user.pk)
