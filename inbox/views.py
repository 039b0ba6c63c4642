"""Pages that belong to no single app: the landing redirect and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET


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
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return JsonResponse({"status": "error", "database": f"unavailable: {type(error).__name__}"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
