"""The workspace's audit log, for owners: who did what, and when. Read-only."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from whatsapp.logs.views import _by_date_and_key, key_page

from .access import tenant_view
from .models import AuditEvent, Role


def filter_audit_events(tenant, params):
    """Entries matching the page's filters (action, dates), newest first, paged by key."""
    events = AuditEvent.objects.filter(tenant=tenant)
    if params.get("action") in AuditEvent.Action.values:
        events = events.filter(action=params["action"])
    return _by_date_and_key(events, AuditEvent, tenant, params, "created_at")


@require_GET
@tenant_view(role=Role.OWNER)
def audit_log(request, membership):
    page = key_page(filter_audit_events(membership.tenant, request.GET).select_related("actor"), request.GET)
    return render(
        request,
        "tenants/audit.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "events": page.pop("rows"),
            **page,
            "actions": AuditEvent.Action.choices,
        },
    )
