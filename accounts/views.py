"""Logging in (password, then a code for people with two factors), setting up two factors,
and changing or resetting a password."""

import time

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from tenants import audit

from . import actions, two_factor
from .forms import EmailAuthenticationForm

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 300


class LoginView(auth_views.LoginView):
    """Django's login. A person with an authenticator app is not logged in yet after the
    password: the session remembers them for five minutes while they enter a code."""

    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if two_factor.confirmed_device(user) is None:
            return super().form_valid(form)
        self.request.session[PENDING_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("login_verify")


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _pending_user(request):
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, None
    return get_user_model().objects.filter(pk=pending["user"], is_active=True).first(), pending


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def login_verify(request):
    """The second step of logging in: a code from the person's authenticator app."""
    user, pending = _pending_user(request)
    device = two_factor.confirmed_device(user) if user else None
    if device is None:
        flash.error(request, "Log in again: the code step expired.")
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["code"]):
            del request.session[PENDING_KEY]
            auth_login(request, user, backend=pending["backend"])
            django_otp.login(request, device)
            return redirect(_safe_next(request, pending.get("next")))
        if allowed:  # throttled guesses are refused unread, and not logged one by one
            audit.record_for_member(user, audit.Action.LOGIN_FAILED, request=request, details={"step": "code"})
        form.add_error(
            "code",
            "That code is not right, or came too soon after a wrong one. Wait a moment and try the newest code."
            if allowed
            else "Too many wrong codes. Wait a minute, then try the newest code.",
        )
    return render(request, "accounts/login_verify.html", {"form": form}, status=400 if form.errors else 200)


def _safe_next(request, url):
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return settings.LOGIN_REDIRECT_URL


class DisableForm(CodeForm):
    password = forms.CharField(
        label="Your password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


def _required_by(user):
    return [m.tenant.name for m in user.memberships.filter(tenant__require_2fa=True).select_related("tenant")]


@never_cache
@login_required
@sensitive_post_parameters("code", "password")
@require_http_methods(["GET", "POST"])
def two_factor_settings(request):
    """Set up an authenticator app (QR code, then a code to confirm), or turn it off."""
    device = two_factor.confirmed_device(request.user)
    if device is not None:
        return _two_factor_on(request, device)
    device = two_factor.pending_device(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if actions.turn_on_two_factor(request, device, form.cleaned_data["code"]):
            flash.success(request, "Two-factor authentication is on. You will enter a code each time you log in.")
            return redirect(_safe_next(request, request.GET.get("next") or reverse("two_factor")))
        form.add_error("code", "That code is not right. Check the time on your phone and try the newest code.")
    context = {
        "form": form,
        "enabled": False,
        "required_by": _required_by(request.user),
        "qr_code": two_factor.qr_code_data_uri(device),
        "manual_key": two_factor.manual_key(device),
    }
    return render(request, "accounts/two_factor.html", context, status=400 if form.errors else 200)


def _two_factor_on(request, device):
    form = DisableForm(request.POST or None)
    required_by = _required_by(request.user)
    if request.method == "POST" and form.is_valid():
        if required_by:
            form.add_error(None, f"{', '.join(required_by)} requires two-factor authentication, so it stays on.")
        elif not request.user.check_password(form.cleaned_data["password"]) or not device.verify_token(
            form.cleaned_data["code"]
        ):
            form.add_error(None, "The password or the code is not right.")
        else:
            actions.turn_off_two_factor(request, device)
            flash.success(request, "Two-factor authentication is off.")
            return redirect("two_factor")
    context = {"form": form, "enabled": True, "required_by": required_by}
    return render(request, "accounts/two_factor.html", context, status=400 if form.errors else 200)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change page; the change itself is actions.change_password."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        actions.change_password(self.request, form)
        return redirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record_for_member(form.user, audit.Action.PASSWORD_RESET, request=self.request, actor=form.user)
        return response
