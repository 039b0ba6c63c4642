"""Workspace pages: members (admins) and the WhatsApp connection (owners)."""

from django import forms
from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from whatsapp.admin import SECRET_FIELDS, ConnectionForm

from . import audit
from .access import tenant_view
from .models import Membership, Role
from .setup import add_member


class MemberForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AGENT)
    password = forms.CharField(
        widget=forms.PasswordInput, required=False, help_text="For a new person: their first password."
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password"):
            # Checked against the person too: a password like their email is refused.
            person = get_user_model()(email=cleaned.get("email") or "")
            try:
                validate_password(cleaned["password"], user=person)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


def _check_role_change(membership, role, target=None):
    """Only owners make owners, or change an owner."""
    if (role == Role.OWNER or (target and target.role == Role.OWNER)) and not membership.has_role(Role.OWNER):
        raise PermissionDenied("Only owners manage owners.")


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def members(request, membership):
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _check_role_change(membership, form.cleaned_data["role"])
        existing = Membership.objects.filter(user__email__iexact=form.cleaned_data["email"]).exists()
        if not existing and not form.cleaned_data["password"]:
            form.add_error("password", "A new person needs a first password.")
        else:
            added = add_member(
                membership.tenant, form.cleaned_data["email"], role=form.cleaned_data["role"],
                password=form.cleaned_data["password"] or None, actor=request.user, request=request,
            )
            flash.success(request, f"{added.user.email} is {added.get_role_display().lower()} here.")
            return redirect("tenants:members", slug=membership.tenant.slug)
    listed = Membership.objects.filter(tenant=membership.tenant).select_related("user").order_by("user__email")
    return render(
        request,
        "tenants/members.html",
        {"tenant": membership.tenant, "membership": membership, "members": listed, "form": form, "roles": Role.choices},
        status=400 if request.method == "POST" else 200,
    )


def _access_member(membership, member_id):
    try:
        return Membership.objects.select_related("user").get(tenant=membership.tenant, pk=member_id)
    except Membership.DoesNotExist:
        raise Http404("No such member.")


@require_POST
@tenant_view(role=Role.ADMIN)
def change_role(request, membership, member_id):
    target = _access_member(membership, member_id)
    role = request.POST.get("role")
    if role not in Role.values:
        flash.error(request, "Unknown role.")
    else:
        _check_role_change(membership, role, target)
        if target.role == Role.OWNER and role != Role.OWNER and _last_owner(target):
            flash.error(request, "A workspace keeps at least one owner.")
        else:
            previous, target.role = target.role, role
            target.save(update_fields=["role"])
            audit.record(membership.tenant, audit.Action.MEMBER_ROLE_CHANGED, actor=request.user,
                         target=target.user.email, details={"from": previous, "to": role}, request=request)
            flash.success(request, f"{target.user.email} is now {target.get_role_display().lower()}.")
    return redirect("tenants:members", slug=membership.tenant.slug)


@require_POST
@tenant_view(role=Role.ADMIN)
def remove_member(request, membership, member_id):
    target = _access_member(membership, member_id)
    _check_role_change(membership, target.role, target)
    if target.role == Role.OWNER and _last_owner(target):
        flash.error(request, "A workspace keeps at least one owner.")
    else:
        target.delete()
        audit.record(membership.tenant, audit.Action.MEMBER_REMOVED, actor=request.user, target=target.user.email,
                     details={"role": target.role}, request=request)
        flash.success(request, f"{target.user.email} no longer has access.")
    return redirect("tenants:members", slug=membership.tenant.slug)


def _last_owner(target):
    return not Membership.objects.filter(tenant=target.tenant, role=Role.OWNER).exclude(pk=target.pk).exists()


@sensitive_post_parameters(*SECRET_FIELDS)
@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.OWNER)
def connection(request, membership):
    form = ConnectionForm(request.POST or None, instance=membership.tenant.whatsapp)
    form.request = request
    if request.method == "POST" and form.is_valid():
        form.save()
        flash.success(request, "WhatsApp connection saved.")
        return redirect("tenants:connection", slug=membership.tenant.slug)
    return render(
        request,
        "tenants/connection.html",
        {"tenant": membership.tenant, "membership": membership, "form": form,
         "webhook_path": f"/webhooks/whatsapp/{membership.tenant.slug}/"},
        status=400 if request.method == "POST" else 200,
    )
