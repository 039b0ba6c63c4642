"""The workspace's audit log, for owners: who did what, and when. Read-only."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from inbox import paging

from .access import tenant_view
from .models import AuditEvent, Role


def filter_audit_events(tenant, params):
    """Entries matching the page's filters (action, dates)."""
    events = AuditEvent.objects.filter(tenant=tenant)
    if params.get("action") in AuditEvent.Action.values:
        events = events.filter(action=params["action"])
    return paging.between_dates(events, params, "created_at")


@require_GET
@tenant_view(role=Role.OWNER)
def audit_log(request, membership):
    tenant = membership.tenant
    rows = filter_audit_events(tenant, request.GET).select_related("actor")
    page = paging.key_page(rows, request.GET, scope=AuditEvent.objects.filter(tenant=tenant), by="created_at")
    return render(
        request,
        "tenants/audit.html",
        {
            "tenant": tenant,
            "membership": membership,
            "events": page.pop("rows"),
            **page,
            "actions": AuditEvent.Action.choices,
        },
    )
