"""Pages that belong to no single app: the landing redirect and the health check."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from . import health


@require_GET
@login_required
def home(request):
    """After login: straight to the inbox of one's only tenant, or a picker."""
    memberships = list(request.user.memberships.filter(tenant__active=True).select_related("tenant"))
    if len(memberships) == 1:
        return redirect("whatsapp:inbox", slug=memberships[0].tenant.slug)
    return render(request, "tenant_picker.html", {"memberships": memberships})


@require_GET
def healthz(request):
    """200 when the database answers, else 503; the channel layer, the task backlog and the
    queues' states are reported, never fatal (inbox/health.py says why)."""
    report = {"database": health.database(), "channel_layer": health.channel_layer()}
    if report["database"] != "ok":
        return JsonResponse({"status": "error", **report, "task_backlog": None, "queues": None}, status=503)
    return JsonResponse({"status": "ok", **report, "task_backlog": health.task_backlog(), "queues": health.queues()})
