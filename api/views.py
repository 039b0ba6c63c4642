"""The workspace's API keys page, for admins: the list, a new key (shown once), revoking."""

from datetime import datetime, time

from django import forms
from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tenants.access import tenant_view
from tenants.models import Role
from whatsapp.errors import ActionError

from . import keys
from .models import ApiKey, Scope


class NewKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “Shop order notifications”.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ, Scope.SEND]
    )
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    rate_limit_per_second = forms.IntegerField(required=False, min_value=1, max_value=10_000)


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def api_keys(request, membership):
    tenant = membership.tenant
    form = NewKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        try:
            _, new_key = keys.create_key(
                tenant,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                created_by=membership.user,
                expires_at=timezone.make_aware(datetime.combine(expires_on, time.max)) if expires_on else None,
                rate_limit_per_second=form.cleaned_data["rate_limit_per_second"],
                request=request,
            )
        except ActionError as error:
            form.add_error(None, str(error))
        else:
            form = NewKeyForm()
    context = {
        "tenant": tenant,
        "membership": membership,
        "form": form,
        "new_key": new_key,
        "keys": ApiKey.objects.filter(tenant=tenant).select_related("created_by"),
    }
    status = 400 if request.method == "POST" and new_key is None else 200
    response = render(request, "api/keys.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the new key is on this page once
    return response


@require_POST
@tenant_view(role=Role.ADMIN)
def revoke(request, membership, key_id):
    key = ApiKey.objects.filter(pk=key_id, tenant=membership.tenant).first()
    if key is None:
        raise Http404("No such key.")
    keys.revoke_key(key, by=membership.user, request=request)
    flash.success(request, f"The key “{key.name}” is revoked: it is refused from now on.")
    return redirect("api:keys", slug=membership.tenant.slug)
