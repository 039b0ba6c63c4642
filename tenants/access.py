"""Reaching a tenant's pages. A tenant you are not a member of does not exist for you:
missing and not yours are the same 404; a role too low for the page is a 403."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Role


def access_membership(user, slug):
    try:
        return Membership.objects.select_related("tenant", "user").get(
            user=user, tenant__slug=slug, tenant__active=True
        )
    except Membership.DoesNotExist:
        raise Http404("No such tenant.")


def tenant_view(role=Role.AGENT):
    """Decorate a view taking (request, membership, ...) from a URL with <slug>."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            membership = access_membership(request.user, slug)
            if not membership.has_role(role):
                raise PermissionDenied(f"This page needs the {role} role.")
            request.tenant = membership.tenant
            return view(request, membership, *args, **kwargs)

        return wrapper

    return decorator
