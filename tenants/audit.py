"""The audit log: who did what in a workspace, and when. Every entry goes through
`record`; entries are never changed or removed (see AuditEvent)."""

import logging

from inbox.lengths import fit

from .models import AuditEvent, Membership

logger = logging.getLogger(__name__)

Action = AuditEvent.Action


def client_ip(request):
    """The address the request came from, as the login throttle sees it."""
    if request is None:
        return None
    from accounts.throttle import client_ip as throttle_ip

    return throttle_ip(request)


def record(tenant, action, *, actor=None, target="", details=None, request=None):
    """Append one entry. `target` names what was acted on, in words; `details` holds
    facts, never a secret and never the content of a customer's messages. `actor` is a user,
    or something acting for the workspace with an `audit_name` (an API key), kept as `by`."""
    if getattr(actor, "audit_name", None):
        details = {"by": actor.audit_name, **(details or {})}
    actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=actor,
        actor_email=actor.email if actor else "",
        action=action,
        target=fit(AuditEvent, "target", str(target)),
        details=details or {},
        ip=client_ip(request),
    )


def acting(membership):
    """Who to record for an action's caller: the member's user, or what acts for the
    workspace without one (an API key, named by its `audit_name`)."""
    return membership.user if membership.user is not None else membership


def record_for_member(user, action, *, request=None, details=None, actor=None):
    """One entry in each workspace the person belongs to (a sign-in concerns them all)."""
    tenants = [m.tenant for m in Membership.objects.filter(user=user).select_related("tenant")]
    for tenant in tenants:
        record(
            tenant,
            action,
            actor=actor if actor is not None else user,
            target=user.email,
            details=details,
            request=request,
        )
    return len(tenants)
