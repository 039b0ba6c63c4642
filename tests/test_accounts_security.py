"""Accounts: login throttling, strong passwords, two-factor authentication (and workspaces
that require it), password change and reset, session cookies."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import TOTPDevice
from inbox.asgi import application
from tenants import invitations
from tenants.models import Invitation, Role
from tests.support.production import PRODUCTION
from tests.support.tenants import PASSWORD
from tests.support.two_factor import code


def log_in(client, email, password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": email, "password": password}, **extra)


def is_logged_in(client):
    response = client.get("/t/acme/inbox/")
    return response.status_code == 200


@pytest.fixture
def device(owner):
    return TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)


# --- Throttling ------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_that_email_from_that_address_with_a_clear_page(owner, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, owner.email, "wrong password").status_code == 200
    response = log_in(client, owner.email, "wrong password")
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    # Locked: even the right password is refused, with the same page and never a 500.
    response = log_in(client, owner.email)
    assert response.status_code == 429 and b"Too many attempts" in response.content
    assert not is_logged_in(client)


def test_changing_the_emails_case_buys_no_more_guesses(owner, settings):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, owner.email.upper() if attempt % 2 else owner.email, "wrong password")
    assert log_in(client, owner.email.title()).status_code == 429


def test_spellings_the_database_folds_to_the_same_email_buy_no_more_guesses(acme, settings):
    """PostgreSQL's upper() maps "ſ" to "S" and "ı" to "I": each spelling logs in to the same
    account, so each must count against that account."""
    from tenants.setup import add_member

    person = add_member(acme, "sissi@acme.test", role=Role.AGENT, password=PASSWORD).user
    spellings = ["ſissi@acme.test", "sıssi@acme.test", "siſſi@acme.test", "ſıſſı@acme.test", "sissı@acme.test"]
    client = Client()
    assert len(spellings) == settings.AXES_FAILURE_LIMIT
    for spelling in spellings:
        log_in(client, spelling, "wrong password")
    response = log_in(client, person.email)
    assert response.status_code == 429
    assert not is_logged_in(client)


def test_a_lockout_leaves_other_people_and_other_addresses_alone(owner, agent, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(attacker, owner.email, "wrong password")
    assert log_in(attacker, owner.email).status_code == 429

    colleague = Client(REMOTE_ADDR="203.0.113.9")
    assert log_in(colleague, agent.email).status_code == 302
    at_home = Client(REMOTE_ADDR="198.51.100.7")
    assert log_in(at_home, owner.email).status_code == 302


def test_the_lockout_ends_after_the_cool_off(owner, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, owner.email, "wrong password")
    assert log_in(client, owner.email).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert log_in(client, owner.email).status_code == 302


def test_the_cool_off_and_limit_come_from_the_environment(manage):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)",
        **PRODUCTION,
        AXES_FAILURE_LIMIT="7",
        AXES_COOLOFF_MINUTES="30",
    )
    assert result.stdout.split()[-2:] == ["7", "0:30:00"], result.stderr


def test_behind_a_trusted_proxy_the_throttle_counts_the_forwarded_address(settings, rf):
    from accounts.throttle import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"  # the client's own claim (6.6.6.6) is ignored


# --- Passwords ---------------------------------------------------------------------------------


def test_weak_passwords_are_refused_for_invited_new_members(owner):
    client = Client()
    client.force_login(owner)
    client.post("/t/acme/members/", {"email": "newperson@acme.test", "role": "agent"})
    link = f"/invitations/{invitations.token_for(Invitation.objects.get(email='newperson@acme.test'))}/"
    for weak in ["short1!", "password12345", "123456789012", "newperson@acme.test"]:
        response = Client().post(link, {"new_password1": weak, "new_password2": weak})
        assert response.status_code == 400, weak
    assert not owner.memberships.model.objects.filter(user__email="newperson@acme.test").exists()


def test_changing_the_password_ends_every_other_session(owner):
    here, elsewhere = Client(), Client()
    here.force_login(owner)
    elsewhere.force_login(owner)
    assert is_logged_in(elsewhere)

    response = here.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-better-passphrase-2026",
            "new_password2": "a-much-better-passphrase-2026",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password/done/"
    assert is_logged_in(here)
    assert not is_logged_in(elsewhere)


def test_a_weak_new_password_is_refused(owner):
    client = Client()
    client.force_login(owner)
    response = client.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password1": "abc", "new_password2": "abc"}
    )
    assert response.status_code == 200 and b"too short" in response.content


def test_a_password_is_reset_by_email_and_old_sessions_end(owner):
    old_session = Client()
    old_session.force_login(owner)
    client = Client()
    response = client.post("/accounts/password-reset/", {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [owner.email]
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/\S+/)", mail.outbox[0].body)[1]

    form = client.get(link, follow=True)
    assert b"Choose a new password" in form.content
    new_password = "reset-by-email-passphrase-2026"
    response = client.post(form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/complete/"
    assert log_in(Client(), owner.email, new_password).status_code == 302
    assert not is_logged_in(old_session)
    assert client.get(link, follow=True).context["validlink"] is False  # the link works once


def test_an_unknown_email_gets_the_same_answer_and_no_mail(db):
    response = Client().post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_reset_emails_go_to_the_console_unless_configured(manage):
    result = manage("shell", "-c", "from django.conf import settings as s; print(s.EMAIL_BACKEND)", DEBUG="true")
    assert result.stdout.split()[-1] == "django.core.mail.backends.console.EmailBackend"


# --- Two factors --------------------------------------------------------------------------------


def test_setting_up_two_factors_shows_a_qr_code_drawn_here_and_confirms_with_a_code(owner):
    client = Client()
    client.force_login(owner)
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    assert re.search(rb'<img class="qr-code" src="data:image/svg\+xml;charset=utf-8,', page.content)
    device = TOTPDevice.objects.get(user=owner, confirmed=False)

    assert client.post("/accounts/2fa/", {"code": "000000"}).status_code == 400
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()
    response = client.post("/accounts/2fa/", {"code": code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert b"<strong>On.</strong>" in client.get("/accounts/2fa/").content


def test_the_seed_is_encrypted_at_rest(device):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_totpdevice WHERE id = %s", [device.pk])
        stored = cursor.fetchone()[0]
    assert device.key not in stored and stored.startswith("gAAAA")


def test_with_two_factors_the_password_alone_does_not_log_in(owner, device):
    client = Client()
    response = log_in(client, owner.email)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/verify/"
    assert not is_logged_in(client)

    assert client.post("/accounts/login/verify/", {"code": "123456"}).status_code == 400
    assert not is_logged_in(client)
    device.refresh_from_db()
    device.throttling_failure_count = 0  # skip the wait a wrong code imposes
    device.save()

    response = client.post("/accounts/login/verify/", {"code": code(device)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert is_logged_in(client)


def test_a_code_works_once(owner, device):
    first, second = Client(), Client()
    log_in(first, owner.email)
    log_in(second, owner.email)
    used = code(device)
    assert first.post("/accounts/login/verify/", {"code": used}).status_code == 302
    assert second.post("/accounts/login/verify/", {"code": used}).status_code == 400


def test_wrong_codes_slow_the_next_tries_down(owner, device):
    client = Client()
    log_in(client, owner.email)
    client.post("/accounts/login/verify/", {"code": "000000"})
    response = client.post("/accounts/login/verify/", {"code": code(device)})  # right, but too soon
    assert response.status_code == 400 and b"Too many wrong codes" in response.content


def test_the_code_step_expires(owner, device, monkeypatch):
    client = Client()
    log_in(client, owner.email)
    import accounts.views

    monkeypatch.setattr(accounts.views, "PENDING_SECONDS", -1)
    response = client.post("/accounts/login/verify/", {"code": code(device)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not is_logged_in(client)


def test_the_code_step_cannot_be_reached_without_the_password(db):
    response = Client().get("/accounts/login/verify/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_turning_two_factors_off_needs_the_password_and_a_code(owner, device):
    client = Client()
    client.force_login(owner)
    assert client.post("/accounts/2fa/", {"password": "wrong", "code": code(device)}).status_code == 400
    device.refresh_from_db()
    assert client.post("/accounts/2fa/", {"password": PASSWORD, "code": code(device, 1)}).status_code == 302
    assert not TOTPDevice.objects.filter(user=owner).exists()


def require_two_factors(tenant):
    tenant.require_2fa = True
    tenant.save(update_fields=["require_2fa"])


def test_an_owner_can_require_two_factors_and_others_cannot(owner, agent, acme):
    admin = Client()
    from tenants.setup import add_member

    add_member(acme, "admin@acme.test", role=Role.ADMIN, password=PASSWORD)
    admin.force_login(acme.memberships.get(role=Role.ADMIN).user)
    assert admin.post("/t/acme/security/", {"require_2fa": "on"}).status_code == 403
    client = Client()
    client.force_login(owner)
    assert client.post("/t/acme/security/", {"require_2fa": "on"}).status_code == 302
    acme.refresh_from_db()
    assert acme.require_2fa


def test_when_required_a_member_without_two_factors_sets_them_up_first(agent, acme):
    require_two_factors(acme)
    client = Client()
    client.force_login(agent)
    response = client.get("/t/acme/inbox/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/?next=/t/acme/inbox/"
    page = client.get(response["Location"])
    assert b"Acme requires two-factor authentication" in page.content

    device = TOTPDevice.objects.get(user=agent)
    response = client.post(response["Location"], {"code": code(device)})
    assert response.status_code == 302 and response["Location"] == "/t/acme/inbox/"
    assert client.get("/t/acme/inbox/").status_code == 200


def test_when_required_a_session_that_skipped_the_code_is_sent_back(agent, acme):
    TOTPDevice.objects.create(user=agent, confirmed=True)
    require_two_factors(acme)
    client = Client()
    client.force_login(agent)  # a session from before 2FA was required: no code passed
    assert client.get("/t/acme/inbox/")["Location"].startswith("/accounts/2fa/")
    assert client.post("/t/acme/inbox/c/1/send/")["Location"].startswith("/accounts/2fa/")


def test_when_required_two_factors_cannot_be_turned_off(agent, acme):
    device = TOTPDevice.objects.create(user=agent, confirmed=True)
    require_two_factors(acme)
    client = Client()
    client.force_login(agent)
    response = client.post("/accounts/2fa/", {"password": PASSWORD, "code": code(device)})
    assert response.status_code == 400 and b"Required by Acme" in response.content
    assert TOTPDevice.objects.filter(user=agent).exists()


@pytest.mark.django_db(transaction=True)
async def test_when_required_the_websocket_refuses_a_session_without_a_code(agent, acme):
    await database_sync_to_async(require_two_factors)(acme)

    def headers():
        client = Client()
        client.force_login(agent)
        return [
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
            (b"origin", b"http://127.0.0.1"),
            (b"host", b"127.0.0.1"),
        ]

    communicator = WebsocketCommunicator(application, "/ws/t/acme/", headers=await database_sync_to_async(headers)())
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


def test_when_required_a_verified_login_reaches_the_pages_and_the_websocket(agent, acme):
    device = TOTPDevice.objects.create(user=agent, confirmed=True)
    require_two_factors(acme)
    client = Client()
    log_in(client, agent.email)
    client.post("/accounts/login/verify/", {"code": code(device)})
    assert client.get("/t/acme/inbox/").status_code == 200

    from accounts.two_factor import scope_is_verified

    assert scope_is_verified(agent, client.session)


# --- Sessions and cookies ---------------------------------------------------------------------


def test_session_and_csrf_cookies_are_httponly_and_sessions_expire(owner, settings):
    client = Client()
    client.get("/accounts/login/")
    response = log_in(client, owner.email)
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert int(session["max-age"]) == settings.SESSION_COOKIE_AGE
    assert client.cookies["csrftoken"]["httponly"]


def test_production_cookies_are_secure_with_hsts_and_ssl_redirect(manage):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SESSION_EXPIRE_AT_BROWSER_CLOSE)",
        **PRODUCTION,
        SESSION_EXPIRE_AT_BROWSER_CLOSE="true",
    )
    assert result.stdout.split()[-7:] == ["True", "True", "True", "True", "True", "31536000", "True"], result.stderr
