"""The workspace's security and data settings, for owners: two factors for everyone, and
how long messages are kept."""

from django import forms
from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import workspace
from .access import tenant_view
from .models import MIN_RETENTION_DAYS, Role, Tenant


class SecuritySettingsForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ["require_2fa", "retention_days"]
        labels = {
            "require_2fa": "Require two-factor authentication for every member",
            "retention_days": "Delete messages and files older than (days)",
        }


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.OWNER)
def security_settings(request, membership):
    tenant = membership.tenant
    form = SecuritySettingsForm(request.POST or None, instance=tenant)
    if request.method == "POST" and form.is_valid():
        workspace.change_settings(membership, form.cleaned_data, target="Security and data", request=request)
        flash.success(request, "Security settings saved.")
        return redirect("tenants:security", slug=tenant.slug)
    return render(
        request,
        "tenants/security.html",
        {"tenant": tenant, "membership": membership, "form": form, "min_retention_days": MIN_RETENTION_DAYS},
        status=400 if request.method == "POST" else 200,
    )
