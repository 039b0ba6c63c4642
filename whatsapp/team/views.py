"""Admin pages for the team's tools: inbox settings, labels, saved replies, templates."""

import phonenumbers
from django import forms
from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants import workspace
from tenants.access import tenant_view
from tenants.models import Role, Tenant
from whatsapp import message_types
from whatsapp.access import access_label, access_saved_reply
from whatsapp.cloud import api as cloud_api
from whatsapp.errors import ActionError
from whatsapp.models import CannedResponse, Label, MessageTemplate
from whatsapp.team import actions as team


class InboxSettingsForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ["read_receipts", "auto_assign", "default_country"]
        widgets = {"read_receipts": forms.RadioSelect}

    def clean_default_country(self):
        """An ISO 3166 region code that phone numbers are known by, or empty."""
        code = self.cleaned_data["default_country"].strip().upper()
        if code and code not in phonenumbers.SUPPORTED_REGIONS:
            raise forms.ValidationError(f"{code} is not a country code (two letters, such as ES, MX or US).")
        return code


class ConsentSettingsForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ["opt_out_keywords", "opt_out_reply"]
        widgets = {"opt_out_reply": forms.Textarea(attrs={"rows": 2})}

    def clean_opt_out_keywords(self):
        """Keywords separated by commas, each one word or a short phrase, kept as typed."""
        words = [" ".join(word.split()) for word in self.cleaned_data["opt_out_keywords"].split(",")]
        if any(len(word) > 40 for word in words):
            raise forms.ValidationError("Each keyword is a word or a short phrase (at most 40 characters).")
        return ", ".join(word for word in words if word)


def _settings_page(request, membership, form=None, status=200, consent_form=None):
    tenant = membership.tenant
    return render(
        request,
        "whatsapp/team_settings.html",
        {
            "tenant": tenant,
            "membership": membership,
            "form": form or InboxSettingsForm(instance=tenant),
            "consent_form": consent_form or ConsentSettingsForm(instance=tenant),
            "labels": Label.objects.filter(tenant=tenant),
            "canned_responses": CannedResponse.objects.filter(tenant=tenant),
            "label_name_max": Label.NAME_MAX,
            "shortcut_max": CannedResponse.SHORTCUT_MAX,
            "text_max": message_types.TEXT_MAX,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def team_settings(request, membership):
    if request.method == "GET":
        return _settings_page(request, membership)
    form = InboxSettingsForm(request.POST, instance=membership.tenant)
    if not form.is_valid():
        return _settings_page(request, membership, form, status=400)
    workspace.change_settings(membership, form.cleaned_data, target="Inbox settings", request=request)
    flash.success(request, "Inbox settings saved.")
    return redirect("whatsapp:team_settings", slug=membership.tenant.slug)


@require_POST
@tenant_view(role=Role.ADMIN)
def consent_settings(request, membership):
    form = ConsentSettingsForm(request.POST, instance=membership.tenant)
    if not form.is_valid():
        return _settings_page(request, membership, consent_form=form, status=400)
    workspace.change_settings(membership, form.cleaned_data, target="Marketing opt-out", request=request)
    flash.success(request, "Opt-out keywords saved.")
    return redirect("whatsapp:team_settings", slug=membership.tenant.slug)


def _back_with(request, membership, error=None, success=None):
    if error:
        flash.error(request, str(error))
    elif success:
        flash.success(request, success)
    return redirect("whatsapp:team_settings", slug=membership.tenant.slug)


@require_POST
@tenant_view(role=Role.ADMIN)
def add_label(request, membership):
    try:
        label = team.create_label(membership, request.POST.get("name", ""))
    except ActionError as error:
        return _back_with(request, membership, error=error)
    return _back_with(request, membership, success=f"Label {label.name} is ready.")


@require_POST
@tenant_view(role=Role.ADMIN)
def delete_label(request, membership, label_id):
    label = access_label(membership, label_id)
    team.delete_label(membership, label, request=request)
    return _back_with(request, membership, success=f"Label {label.name} deleted.")


@require_POST
@tenant_view(role=Role.ADMIN)
def save_canned(request, membership):
    try:
        response = team.save_canned_response(
            membership.tenant, request.POST.get("shortcut", ""), request.POST.get("text", "")
        )
    except ActionError as error:
        return _back_with(request, membership, error=error)
    return _back_with(request, membership, success=f"Saved reply /{response.shortcut} is ready.")


@require_POST
@tenant_view(role=Role.ADMIN)
def delete_canned(request, membership, canned_id):
    response = access_saved_reply(membership, canned_id)
    team.delete_saved_reply(membership, response, request=request)
    return _back_with(request, membership, success=f"Saved reply /{response.shortcut} deleted.")


@require_GET
@tenant_view(role=Role.ADMIN)
def templates(request, membership):
    tenant = membership.tenant
    return render(
        request,
        "whatsapp/templates.html",
        {
            "tenant": tenant,
            "membership": membership,
            "templates": MessageTemplate.objects.filter(tenant=tenant).order_by("name", "language"),
            "synced_at": tenant.whatsapp.templates_synced_at,
        },
    )


@require_POST
@tenant_view(role=Role.ADMIN)
def sync_templates(request, membership):
    try:
        count = team.sync_templates(membership.tenant)
    except (ActionError, cloud_api.CloudAPIError) as error:
        flash.error(request, f"Could not sync templates: {getattr(error, 'for_agent', error)}")
    else:
        flash.success(request, f"Synced {count} template(s) from Meta.")
    return redirect("whatsapp:templates", slug=membership.tenant.slug)
