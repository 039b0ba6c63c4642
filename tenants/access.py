"""Reaching a tenant's pages. A tenant you are not a member of does not exist for you:
missing and not yours are the same 404; a role too low for the page is a 403. A tenant
that requires two factors sends a session that has not passed one to set it up."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from accounts.two_factor import session_is_verified

from .models import Membership, Role


def access_membership(user, slug):
    try:
        return Membership.objects.select_related("tenant", "user").get(
            user=user, tenant__slug=slug, tenant__active=True
        )
    except Membership.DoesNotExist:
        raise Http404("No such tenant.")


def access_member(membership, member_id):
    """A member of the same workspace as `membership`."""
    try:
        return Membership.objects.select_related("user", "tenant").get(tenant=membership.tenant, pk=member_id)
    except Membership.DoesNotExist:
        raise Http404("No such member.")


def may_manage_role(membership, role):
    """Only owners make owners, or change an owner, or invite one."""
    return role != Role.OWNER or membership.has_role(Role.OWNER)


def check_role_change(membership, role, target=None):
    if not may_manage_role(membership, role) or (target and not may_manage_role(membership, target.role)):
        raise PermissionDenied("Only owners manage owners.")


def tenant_view(role=Role.AGENT):
    """Decorate a view taking (request, membership, ...) from a URL with <slug>."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            membership = access_membership(request.user, slug)
            if membership.tenant.require_2fa and not session_is_verified(request):
                return redirect_to_login(request.get_full_path(), reverse("two_factor"), "next")
            if not membership.has_role(role):
                raise PermissionDenied(f"This page needs the {role} role.")
            request.tenant = membership.tenant
            return view(request, membership, *args, **kwargs)

        return wrapper

    return decorator
