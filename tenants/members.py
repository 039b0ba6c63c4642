"""Changes to the people of a workspace from the members page: a member's role, and removing
a member. People join through invitations (invitations.py), or the operator's scripts
(setup.py). Every change is written in the audit log; open sockets of the person re-check
their access (whatsapp/realtime/access.py)."""

from django.db import transaction

from . import audit
from .access import check_role_change
from .models import Membership, Role


class MemberError(Exception):
    """The change cannot be made; the message says why, for the page."""


LAST_OWNER = "A workspace keeps at least one owner."


def change_role(membership, target, role, *, request=None):
    """Give `target`, a member of the same workspace, this role. Only owners make owners or
    change an owner's role (PermissionDenied); the last owner stays one (MemberError)."""
    if role not in Role.values:
        raise MemberError("Unknown role.")
    with transaction.atomic():
        target = _lock(target)
        check_role_change(membership, role, target)
        previous = target.role
        if previous == role:
            return target
        if previous == Role.OWNER:
            _keep_an_owner(target)
        target.role = role
        target.save(update_fields=["role"])
        audit.record(
            target.tenant,
            audit.Action.MEMBER_ROLE_CHANGED,
            actor=membership.user,
            target=target.user.email,
            details={"from": previous, "to": role},
            request=request,
        )
    return target


def remove_member(membership, target, *, request=None):
    """Take `target`, a member of the same workspace, out of it. Only owners remove owners
    (PermissionDenied); the last owner stays (MemberError)."""
    with transaction.atomic():
        target = _lock(target)
        check_role_change(membership, target.role, target)
        if target.role == Role.OWNER:
            _keep_an_owner(target)
        target.delete()
        audit.record(
            target.tenant,
            audit.Action.MEMBER_REMOVED,
            actor=membership.user,
            target=target.user.email,
            details={"role": target.role},
            request=request,
        )
    return target


def _lock(target):
    """The target's row as it is now, and the workspace's owners locked: two owners demoting
    each other at once cannot leave none."""
    owners = Membership.objects.select_for_update().filter(tenant_id=target.tenant_id, role=Role.OWNER)
    list(owners.order_by("pk").values_list("pk", flat=True))  # locked in one order: no deadlock
    return Membership.objects.select_for_update(of=("self",)).select_related("user", "tenant").get(pk=target.pk)


def _keep_an_owner(target):
    others = Membership.objects.filter(tenant_id=target.tenant_id, role=Role.OWNER).exclude(pk=target.pk)
    if not others.exists():
        raise MemberError(LAST_OWNER)
