"""Django admin goes through the app's login and second factor: its own password form is
never shown, and ADMIN_REQUIRE_2FA makes every staff user use an authenticator app."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import TOTPDevice
from tests.support.tenants import PASSWORD
from tests.support.two_factor import code


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("root@platform.test", PASSWORD)


@pytest.fixture
def staff_device(staff):
    return TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)


def test_admins_own_login_form_never_logs_anyone_in(staff, staff_device):
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"
    assert client.get("/admin/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_admin_login_page_sends_to_the_apps_login(db):
    response = Client().get("/admin/login/?next=/admin/tenants/tenant/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/tenants/tenant/"


def test_a_staff_user_with_an_authenticator_reaches_admin_only_after_the_code(staff, staff_device):
    client = Client()
    response = client.post("/accounts/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/login/verify/"
    assert client.get("/admin/").status_code == 302
    response = client.post("/accounts/login/verify/", {"code": code(staff_device)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_session_that_skipped_the_code_is_logged_out_and_sent_to_log_in(staff, staff_device):
    client = Client()
    client.force_login(staff)  # as a session opened before the authenticator was set up
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=/admin/"
    assert "_auth_user_id" not in client.session


def test_when_required_a_staff_user_without_an_authenticator_sets_one_up_first(staff, settings):
    settings.ADMIN_REQUIRE_2FA = True
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/2fa/?next=/admin/"
    assert response.status_code == 200


def test_when_not_required_a_staff_user_without_an_authenticator_may_use_the_password(staff, settings):
    settings.ADMIN_REQUIRE_2FA = False
    client = Client()
    client.post("/accounts/login/", {"username": staff.email, "password": PASSWORD})
    assert client.get("/admin/").status_code == 200


def test_a_member_who_is_not_staff_is_refused_without_a_loop(agent):
    client = Client()
    client.force_login(agent)
    assert client.get("/admin/", follow=True).status_code == 403


def test_the_admin_logout_still_logs_out(admin_client):
    assert admin_client.get("/admin/").status_code == 200
    admin_client.post("/admin/logout/")
    assert admin_client.get("/admin/").status_code == 302
