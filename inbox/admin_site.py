"""Django admin behind the app's own login and second factor.

Admin's own login form checks the password alone, so it is never shown: /admin/login/
sends people to /accounts/login/, where a person with an authenticator app enters a code
before they are logged in. A session that skipped the code never reaches admin, and with
ADMIN_REQUIRE_2FA (on by default in production) every staff user must have one.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import two_factor


def second_factor_passed(request):
    """True when this session may use admin as far as two factors go: it passed one, or the
    person has none and the platform does not require it."""
    if two_factor.session_is_verified(request):
        return True
    return not settings.ADMIN_REQUIRE_2FA and two_factor.confirmed_device(request.user) is None


class InboxAdminSite(admin.AdminSite):
    site_header = "Team Inbox administration"
    site_title = "Team Inbox admin"

    def has_permission(self, request):
        return super().has_permission(request) and second_factor_passed(request)

    def login(self, request, extra_context=None):
        """Never a password form of its own: the app's login, or what stands in the way."""
        next_url = self._next_url(request)
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(next_url)
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("This account cannot use the admin site.")
        if self.has_permission(request):
            return redirect(next_url)
        if two_factor.confirmed_device(user) is None:
            # ADMIN_REQUIRE_2FA and no authenticator yet: set one up, then come back.
            return redirect_to_login(next_url, reverse("two_factor"))
        # Logged in without the code (say, before the app was set up): log in again, with it.
        logout(request)
        return redirect_to_login(next_url)

    def _next_url(self, request):
        url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
            return url
        return reverse("admin:index", current_app=self.name)
