"""Workspace pages: members (admins) and the WhatsApp connection (owners)."""

from django import forms
from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from whatsapp.admin import SECRET_FIELDS, ConnectionForm
from whatsapp.team import actions as team_actions

from . import invitations
from . import members as member_actions
from .access import access_member, check_role_change, may_manage_role, tenant_view
from .models import Membership, Role


class InviteForm(forms.Form):
    """Who to invite. Never a password: the person chooses their own when they accept."""

    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AGENT)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if invitations.is_member(self.tenant, email):
            raise forms.ValidationError(f"{email} is already a member of this workspace.")
        return email


@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.ADMIN)
def members(request, membership):
    form = InviteForm(request.POST or None, tenant=membership.tenant)
    if request.method == "POST" and form.is_valid():
        check_role_change(membership, form.cleaned_data["role"])
        invitation = invitations.invite(
            membership.tenant,
            form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=request.user,
            request=request,
        )
        # The same words whether or not the email has an account somewhere: nothing here tells.
        flash.success(
            request,
            f"Invitation sent to {invitation.email}. They join once they accept it; "
            f"the link works for {invitations.LIFETIME.days} days.",
        )
        return redirect("tenants:members", slug=membership.tenant.slug)
    listed = Membership.objects.filter(tenant=membership.tenant).select_related("user").order_by("user__email")
    return render(
        request,
        "tenants/members.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "members": listed,
            "form": form,
            "roles": Role.choices,
            "invitations": _open_invitations(request, membership),
            "invitation_days": invitations.LIFETIME.days,
        },
        status=400 if request.method == "POST" else 200,
    )


def _open_invitations(request, membership):
    """(invitation, link) pairs; the link is None for an owner's invitation unless the reader
    is an owner: whoever holds that link could become an owner."""
    return [
        (
            invitation,
            invitations.link_for(invitation, request) if may_manage_role(membership, invitation.role) else None,
        )
        for invitation in invitations.open_for(membership.tenant)
    ]


@require_POST
@tenant_view(role=Role.ADMIN)
def change_role(request, membership, member_id):
    target = access_member(membership, member_id)
    try:
        target = member_actions.change_role(membership, target, request.POST.get("role"), request=request)
    except member_actions.MemberError as error:
        flash.error(request, str(error))
    else:
        flash.success(request, f"{target.user.email} is now {target.get_role_display().lower()}.")
    return redirect("tenants:members", slug=membership.tenant.slug)


@require_POST
@tenant_view(role=Role.ADMIN)
def remove_member(request, membership, member_id):
    target = access_member(membership, member_id)
    try:
        member_actions.remove_member(membership, target, request=request)
    except member_actions.MemberError as error:
        flash.error(request, str(error))
    else:
        flash.success(request, f"{target.user.email} no longer has access.")
    return redirect("tenants:members", slug=membership.tenant.slug)


@sensitive_post_parameters(*SECRET_FIELDS)
@require_http_methods(["GET", "POST"])
@tenant_view(role=Role.OWNER)
def connection(request, membership):
    form = ConnectionForm(request.POST or None, instance=membership.tenant.whatsapp)
    form.request = request
    if request.method == "POST" and form.is_valid():
        team_actions.save_connection(form.save(commit=False), request=request)
        flash.success(request, "WhatsApp connection saved.")
        return redirect("tenants:connection", slug=membership.tenant.slug)
    return render(
        request,
        "tenants/connection.html",
        {
            "tenant": membership.tenant,
            "membership": membership,
            "form": form,
            "webhook_path": f"/webhooks/whatsapp/{membership.tenant.slug}/",
        },
        status=400 if request.method == "POST" else 200,
    )
