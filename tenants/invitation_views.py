"""Invitation pages: resending and revoking from the members page (admins; an owner's
invitation only for owners), and the link the invited person opens."""

from django import forms
from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from . import invitations
from .access import check_role_change, tenant_view
from .invitations import InvitationError
from .models import Role

# The person has just chosen their password: no other backend has anything to check.
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _access_invitation(membership, invitation_id):
    """An open invitation of this workspace; missing, closed and another workspace's are the
    same 404. An owner's invitation is managed by owners only (403)."""
    invitation = invitations.open_for(membership.tenant).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    check_role_change(membership, invitation.role)
    return invitation


@require_POST
@tenant_view(role=Role.ADMIN)
def resend_invitation(request, membership, invitation_id):
    invitation = _access_invitation(membership, invitation_id)
    try:
        invitations.resend(invitation, actor=request.user, request=request)
        flash.success(
            request,
            f"Invitation sent again to {invitation.email}; the link works for "
            f"{invitations.LIFETIME.days} days from now.",
        )
    except InvitationError as error:
        flash.error(request, error.reason)
    return redirect("tenants:members", slug=membership.tenant.slug)


@require_POST
@tenant_view(role=Role.ADMIN)
def revoke_invitation(request, membership, invitation_id):
    invitation = _access_invitation(membership, invitation_id)
    try:
        invitations.revoke(invitation, actor=request.user, request=request)
        flash.success(request, f"The invitation to {invitation.email} is revoked; its link no longer works.")
    except InvitationError as error:
        flash.error(request, error.reason)
    return redirect("tenants:members", slug=membership.tenant.slug)


class JoinForm(SetPasswordForm):
    """A new person's own password (Django's validators, checked against their email and
    name too), and optionally their name."""

    name = forms.CharField(label="Your name (optional)", max_length=150, required=False)
    field_order = ["name", "new_password1", "new_password2"]

    def __init__(self, invitation, *args, **kwargs):
        super().__init__(get_user_model()(email=invitation.email), *args, **kwargs)

    def clean(self):
        self.user.name = self.cleaned_data.get("name", "")
        return super().clean()


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def invitation(request, token):
    """The link in the email. Someone logged in accepts with a button if it is their email;
    an invited email with an account logs in first; a new person chooses a password."""
    try:
        invitation = invitations.access_by_token(token)
        if request.user.is_authenticated:
            return _accept(request, invitation)
        if invitations.has_account(invitation):
            return redirect_to_login(request.get_full_path())
        return _join_as_new_person(request, invitation)
    except InvitationError as error:
        return render(
            request, "tenants/invitation.html", {"error": error.reason, "invitation": None}, status=error.status
        )


def _accept(request, invitation):
    if not invitations.is_for(invitation, request.user):
        return render(
            request, "tenants/invitation.html", {"invitation": invitation, "another_account": True}, status=403
        )
    if request.method == "POST":
        invitations.accept(invitation, request.user, request=request)
        return _joined(request, invitation)
    return render(request, "tenants/invitation.html", {"invitation": invitation})


def _join_as_new_person(request, invitation):
    form = JoinForm(invitation, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = invitations.join_as_new_person(
            invitation, password=form.cleaned_data["new_password1"], name=form.cleaned_data["name"], request=request
        )
        auth_login(request, user, backend=LOGIN_BACKEND)
        return _joined(request, invitation)
    return render(
        request, "tenants/invitation.html", {"invitation": invitation, "form": form}, status=400 if form.errors else 200
    )


def _joined(request, invitation):
    flash.success(request, f"Welcome to {invitation.tenant.name}.")
    # The workspace's own door: one that requires two factors sends them to set them up first.
    return redirect("whatsapp:inbox", slug=invitation.tenant.slug)
