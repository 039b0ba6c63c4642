"""Who may keep a live connection open. A socket is let in on what a page would let in
(a member of an active workspace, whose session passed two factors where the workspace asks
for them) and keeps its access only while all of that still holds: the consumer re-checks on
every `access.changed` event and on a timer, and closes when the check fails."""

from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare

from accounts.two_factor import scope_is_verified
from tenants.models import Membership


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
    membership = Membership.objects.select_related("tenant").filter(
        user=user, tenant__slug=slug, tenant__active=True
    ).first()
    if membership is None or (membership.tenant.require_2fa and not scope_is_verified(user, session)):
        return None
    return Grant(user.pk, membership.pk, membership.role, membership.tenant_id,
                 session.session_key, session.get(HASH_SESSION_KEY, ""))


def access_still_valid(grant):
    """True while everything the grant rested on still holds, read afresh from the database:
    the person is active and still has this membership with this role in an active workspace;
    the session still exists, still logs this person in, and its hash still matches their
    password; and it passed two factors if the workspace now requires them. Reads only."""
    membership = (
        Membership.objects.select_related("tenant", "user")
        .filter(pk=grant.membership_id, user_id=grant.user_id, tenant_id=grant.tenant_id, role=grant.role,
                tenant__active=True, user__is_active=True)
        .first()
    )
    if membership is None:
        return False
    # A session that has been deleted or has expired loads as empty.
    session = import_module(settings.SESSION_ENGINE).SessionStore(grant.session_key)
    if str(session.get(SESSION_KEY)) != str(grant.user_id):
        return False
    session_hash = session.get(HASH_SESSION_KEY, "")
    if not (constant_time_compare(session_hash, grant.session_hash)
            and constant_time_compare(session_hash, membership.user.get_session_auth_hash())):
        return False
    return not membership.tenant.require_2fa or scope_is_verified(membership.user, session)
