"""Invitations: the members page invites, the invited person accepts through a signed,
single-use link that expires after 7 days. No page sets another person's password, and
nobody joins a workspace without accepting."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from tenants import invitations
from tenants.models import AuditEvent, Invitation, Membership, Role
from tests.support.tenants import PASSWORD

Action = AuditEvent.Action
NEW_PASSWORD = "a-passphrase-of-my-own-2026"
ATTACKERS_PASSWORD = "the-attackers-passphrase-42"


@pytest.fixture
def invite(tenant_admin_client, django_capture_on_commit_callbacks):
    """Invites through acme's members page (as its admin unless another client is given),
    with the mail sent as it would be on commit; returns the response."""

    def invite(email, role="agent", client=tenant_admin_client, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/t/acme/members/", {"email": email, "role": role, **fields})

    return invite


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root@platform.test", PASSWORD)


@pytest.fixture
def later(monkeypatch):
    """Moves the clock on by the given time, for everything that asks Django for now."""
    real_now = timezone.now

    def move(delta):
        monkeypatch.setattr(timezone, "now", lambda: real_now() + delta)

    return move


def sent_link(index=-1):
    """The path of the link in a mail sent (the last by default)."""
    return re.search(r"http://testserver(/invitations/[^/\s]+/)", mail.outbox[index].body)[1]


def joined(email, tenant):
    return Membership.objects.filter(tenant=tenant, user__email=email).exists()


def entries(tenant, action, target):
    return list(AuditEvent.objects.filter(tenant=tenant, action=action, target=target).order_by("pk"))


def join_as_new_person(client, link, password=NEW_PASSWORD, name="Nina"):
    return client.post(link, {"name": name, "new_password1": password, "new_password2": password})


# --- The hole this closes ----------------------------------------------------------------


@pytest.mark.parametrize("victim", ["outsider", "superuser"])
def test_an_admin_cannot_set_the_password_of_someone_elses_account(victim, request, invite, acme):
    person = request.getfixturevalue(victim)
    response = invite(person.email, password=ATTACKERS_PASSWORD)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password(PASSWORD) and not person.check_password(ATTACKERS_PASSWORD)
    assert not joined(person.email, acme), "nobody joins before accepting"
    assert (
        Client().post("/accounts/login/", {"username": person.email, "password": ATTACKERS_PASSWORD}).status_code == 200
    )


def test_the_members_form_has_no_password_field(tenant_admin_client):
    page = tenant_admin_client.get("/t/acme/members/")
    assert "password" not in page.context["form"].fields
    assert b'type="password"' not in page.content


# --- A new person ----------------------------------------------------------------------------


def test_a_new_person_chooses_a_password_joins_and_is_logged_in(invite, acme):
    invite("nina@acme.test", role="admin")
    client = Client()
    page = client.get(sent_link())
    assert page.status_code == 200 and b"Join Acme" in page.content
    assert not get_user_model().objects.filter(email="nina@acme.test").exists()

    response = join_as_new_person(client, sent_link())
    assert response.status_code == 302 and response["Location"] == "/t/acme/inbox/"
    nina = get_user_model().objects.get(email="nina@acme.test")
    assert nina.check_password(NEW_PASSWORD) and nina.name == "Nina"
    assert Membership.objects.get(tenant=acme, user=nina).role == Role.ADMIN
    assert client.get("/t/acme/inbox/").status_code == 200
    invitation = Invitation.objects.get(email="nina@acme.test")
    assert (invitation.accepted_by, invitation.nonce) == (nina, "")


def test_a_new_persons_name_is_optional(invite, acme):
    invite("nina@acme.test")
    assert join_as_new_person(Client(), sent_link(), name="").status_code == 302
    assert joined("nina@acme.test", acme)


def test_a_new_persons_password_must_pass_the_validators(invite, acme):
    invite("nina@acme.test")
    client = Client()
    for weak in ["short1!", "password12345", "123456789012", "nina@acme.test"]:
        assert join_as_new_person(client, sent_link(), password=weak).status_code == 400, weak
    mismatched = client.post(sent_link(), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert mismatched.status_code == 400
    assert not get_user_model().objects.filter(email="nina@acme.test").exists()
    assert Invitation.objects.get(email="nina@acme.test").is_open


def test_a_new_person_joining_a_workspace_that_requires_two_factors_lands_on_their_set_up(invite, acme):
    invite("nina@acme.test")
    acme.require_2fa = True  # after inviting: the admin's own session has not passed two factors
    acme.save(update_fields=["require_2fa"])
    response = join_as_new_person(Client(), sent_link())
    response = response.client.get(response["Location"], follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/2fa/?next=/t/acme/inbox/"
    assert response.status_code == 200 and response.context["required_by"] == ["Acme"]


def test_joining_is_recorded(invite, acme):
    invite("nina@acme.test")
    join_as_new_person(Client(), sent_link())
    nina = get_user_model().objects.get(email="nina@acme.test")
    [created] = entries(acme, Action.INVITATION_CREATED, "nina@acme.test")
    [accepted] = entries(acme, Action.INVITATION_ACCEPTED, "nina@acme.test")
    [added] = entries(acme, Action.MEMBER_ADDED, "nina@acme.test")
    assert (created.actor.email, created.details) == ("admin@acme.test", {"role": "agent", "renewed": False})
    assert (accepted.actor, added.actor, added.details) == (nina, nina, {"role": "agent"})


# --- Someone with an account -----------------------------------------------------------------


def test_someone_with_an_account_is_sent_to_log_in_first(invite, acme, outsider):
    invite(outsider.email)
    response = Client().get(sent_link())
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=" + sent_link().replace(":", "%3A")
    assert join_as_new_person(Client(), sent_link()).status_code == 302  # to log in, like the GET
    outsider.refresh_from_db()
    assert outsider.check_password(PASSWORD) and not joined(outsider.email, acme)


def test_someone_logged_in_joins_only_by_accepting(invite, acme, outsider, outsider_client):
    invite(outsider.email, role="admin")
    page = outsider_client.get(sent_link())
    assert page.status_code == 200 and b"Accept and join" in page.content
    assert not joined(outsider.email, acme)

    response = outsider_client.post(sent_link())
    assert response.status_code == 302 and response["Location"] == "/t/acme/inbox/"
    assert Membership.objects.get(tenant=acme, user=outsider).role == Role.ADMIN
    assert outsider_client.get("/t/acme/inbox/").status_code == 200
    assert entries(acme, Action.INVITATION_ACCEPTED, outsider.email)[0].actor == outsider


def test_logging_in_brings_the_person_back_to_the_invitation(invite, acme, outsider):
    invite(outsider.email)
    client = Client()
    login_url = client.get(sent_link())["Location"]
    response = client.post(login_url, {"username": outsider.email, "password": PASSWORD})
    assert response["Location"] == sent_link()
    client.post(sent_link())
    assert joined(outsider.email, acme)


def test_someone_logged_in_as_another_account_is_told_and_does_not_join(invite, acme, outsider, agent_client):
    invite(outsider.email)
    for response in (agent_client.get(sent_link()), agent_client.post(sent_link())):
        assert response.status_code == 403
        assert b"This invitation is for another account" in response.content
    assert not joined(outsider.email, acme)
    assert Invitation.objects.get(email=outsider.email).is_open


def test_a_new_persons_link_opened_while_logged_in_as_someone_else_makes_no_account(invite, acme, outsider_client):
    invite("nina@acme.test")
    response = outsider_client.post(sent_link(), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 403
    assert not get_user_model().objects.filter(email="nina@acme.test").exists()
    assert not Membership.objects.filter(tenant=acme, user__email="outsider@globex.test").exists()


def test_the_platforms_superuser_joins_only_by_accepting_it_themselves(invite, acme, superuser):
    invite(superuser.email)
    assert not joined(superuser.email, acme)
    client = Client()
    client.force_login(superuser)
    client.post(sent_link())
    assert joined(superuser.email, acme)


# --- Links that open nothing ------------------------------------------------------------------


def test_a_link_works_for_seven_days(invite, acme, later):
    invite("nina@acme.test")
    invitation = Invitation.objects.get(email="nina@acme.test")
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    later(timedelta(days=7) - timedelta(minutes=1))
    assert Client().get(sent_link()).status_code == 200

    later(timedelta(days=7, seconds=1))
    for response in (Client().get(sent_link()), join_as_new_person(Client(), sent_link())):
        assert response.status_code == 410 and b"This invitation has expired" in response.content
    assert not get_user_model().objects.filter(email="nina@acme.test").exists()


def test_a_link_works_once(invite, acme):
    invite("nina@acme.test")
    link = sent_link()
    join_as_new_person(Client(), link)
    for response in (Client().get(link), join_as_new_person(Client(), link, password="another-passphrase-99")):
        assert response.status_code == 410 and b"already been used" in response.content
    assert get_user_model().objects.get(email="nina@acme.test").check_password(NEW_PASSWORD)


def test_an_accepted_invitation_cannot_be_accepted_again_by_its_person(invite, acme, outsider, outsider_client):
    invite(outsider.email)
    link = sent_link()
    outsider_client.post(link)
    Membership.objects.filter(tenant=acme, user=outsider).delete()  # removed since
    assert outsider_client.post(link).status_code == 410
    assert not joined(outsider.email, acme)


def test_a_revoked_link_opens_nothing(invite, acme, tenant_admin_client):
    invite("nina@acme.test")
    invitation = Invitation.objects.get(email="nina@acme.test")
    response = tenant_admin_client.post(f"/t/acme/members/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/t/acme/members/"
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None and invitation.nonce == ""
    for response in (Client().get(sent_link()), join_as_new_person(Client(), sent_link())):
        assert response.status_code == 410 and b"withdrawn" in response.content
    assert not get_user_model().objects.filter(email="nina@acme.test").exists()
    assert tenant_admin_client.get("/t/acme/members/").context["invitations"] == []
    assert entries(acme, Action.INVITATION_REVOKED, "nina@acme.test")[0].actor.email == "admin@acme.test"


def test_a_tampered_link_gets_a_clear_page_never_a_500(invite, acme):
    invite("nina@acme.test")
    invitation = Invitation.objects.get(email="nina@acme.test")
    token = sent_link().split("/")[2]
    forged = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature
        ("B" if token[0] != "B" else "C") + token[1:],  # the signed id and nonce
        "not-a-token",
        "a:b:c",
        "x" * 3000,
        signing.Signer().sign_object([invitation.pk, invitation.nonce]),  # signed, but not as an invitation
        signing.Signer(salt="another.salt").sign_object([invitation.pk, invitation.nonce]),
        signing.Signer(salt=invitations.SALT).sign_object("nonsense"),
        signing.Signer(salt=invitations.SALT).sign_object(["one", "two"]),
        signing.Signer(salt=invitations.SALT).sign_object([invitation.pk + 100, invitation.nonce]),
    ]
    for bad in forged:
        for response in (Client().get(f"/invitations/{bad}/"), join_as_new_person(Client(), f"/invitations/{bad}/")):
            assert response.status_code == 404, bad
            assert b"This invitation link is not valid" in response.content
    wrong_nonce = signing.Signer(salt=invitations.SALT).sign_object([invitation.pk, "guessed"])
    assert Client().get(f"/invitations/{wrong_nonce}/").status_code == 410
    assert not get_user_model().objects.filter(email="nina@acme.test").exists()


def test_a_switched_off_workspaces_link_opens_nothing(invite, acme):
    invite("nina@acme.test")
    acme.active = False
    acme.save(update_fields=["active"])
    assert join_as_new_person(Client(), sent_link()).status_code == 404
    assert not get_user_model().objects.filter(email="nina@acme.test").exists()


def test_the_link_page_needs_its_csrf_token(invite, acme):
    invite("nina@acme.test")
    assert join_as_new_person(Client(enforce_csrf_checks=True), sent_link()).status_code == 403


# --- The members page -------------------------------------------------------------------------


def test_the_invitation_is_mailed_with_its_link(invite, acme):
    invite("nina@acme.test", role="admin")
    [message] = mail.outbox
    assert message.to == ["nina@acme.test"]
    assert "Acme" in message.subject and "admin@acme.test" in message.body and "as admin" in message.body
    invitation = Invitation.objects.get(email="nina@acme.test")
    assert sent_link() == f"/invitations/{invitations.token_for(invitation)}/"


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(invite, tenant_admin_client, outsider):
    answers = []
    for email in (outsider.email, "nobody@nowhere.test"):
        response = invite(email)
        flashed = [str(message) for message in tenant_admin_client.get(response["Location"]).context["messages"]]
        answer = (
            response.status_code,
            response["Location"],
            flashed,
            mail.outbox[-1].subject,
            mail.outbox[-1].body.replace(sent_link(), "LINK"),
        )
        answers.append(str(answer).replace(email, "EMAIL"))
    assert answers[0] == answers[1]
    created = AuditEvent.objects.filter(action=Action.INVITATION_CREATED).order_by("pk")
    assert [event.details for event in created] == [{"role": "agent", "renewed": False}] * 2


def test_the_members_page_lists_pending_invitations_with_their_links(invite, acme, tenant_admin_client):
    invite("nina@acme.test")
    page = tenant_admin_client.get("/t/acme/members/").content.decode()
    assert "nina@acme.test" in page and f"http://testserver{sent_link()}" in page
    join_as_new_person(Client(), sent_link())
    page = tenant_admin_client.get("/t/acme/members/")
    assert page.context["invitations"] == [] and b"No pending invitations" in page.content


def test_inviting_the_same_email_again_renews_the_pending_invitation(invite, acme):
    invite("nina@acme.test")
    first = sent_link()
    invite("NINA@acme.test", role="admin")
    [invitation] = Invitation.objects.filter(tenant=acme)
    assert (invitation.email, invitation.role) == ("nina@acme.test", "admin")
    assert len(mail.outbox) == 2 and sent_link() != first
    assert Client().get(first).status_code == 410  # replaced by the newer link
    join_as_new_person(Client(), sent_link())
    assert Membership.objects.get(user__email="nina@acme.test").role == Role.ADMIN
    assert entries(acme, Action.INVITATION_CREATED, "nina@acme.test")[1].details["renewed"] is True


def test_resending_mails_the_same_link_for_seven_more_days(invite, acme, later, django_capture_on_commit_callbacks):
    invite("nina@acme.test")
    invitation = Invitation.objects.get(email="nina@acme.test")
    later(timedelta(days=8))
    assert Client().get(sent_link()).status_code == 410
    admin = Client()  # the admin's session of 8 days ago has ended
    admin.force_login(get_user_model().objects.get(email="admin@acme.test"))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/t/acme/members/invitations/{invitation.pk}/resend/")
    assert response.status_code == 302 and response["Location"] == "/t/acme/members/"
    assert len(mail.outbox) == 2 and sent_link(0) == sent_link(1)
    assert Client().get(sent_link()).status_code == 200
    assert entries(acme, Action.INVITATION_RESENT, "nina@acme.test")[0].actor.email == "admin@acme.test"


def test_inviting_a_member_of_this_workspace_is_a_form_error(invite, acme, agent):
    response = invite("Agent@acme.test")
    assert response.status_code == 400
    assert "agent@acme.test is already a member of this workspace." in response.context["form"].errors["email"]
    assert not Invitation.objects.exists() and mail.outbox == []


def test_only_owners_invite_owners(invite, acme, owner_client):
    assert invite("boss@acme.test", role="owner").status_code == 403
    assert not Invitation.objects.exists()
    assert invite("boss@acme.test", role="owner", client=owner_client).status_code == 302
    assert Invitation.objects.get(email="boss@acme.test").role == Role.OWNER


def test_an_admin_can_neither_see_the_link_of_an_owners_invitation_nor_manage_it(
    invite, owner_client, tenant_admin_client
):
    invite("boss@acme.test", role="owner", client=owner_client)
    invitation = Invitation.objects.get(email="boss@acme.test")
    page = tenant_admin_client.get("/t/acme/members/").content.decode()
    assert "boss@acme.test" in page and invitations.token_for(invitation) not in page
    for action in ("resend", "revoke"):
        assert tenant_admin_client.post(f"/t/acme/members/invitations/{invitation.pk}/{action}/").status_code == 403
    invitation.refresh_from_db()
    assert invitation.is_open and len(mail.outbox) == 1


def test_a_mail_server_that_is_down_does_not_lose_the_invitation(invite, acme, tenant_admin_client, settings):
    settings.EMAIL_BACKEND = "tests.test_invitations.BrokenEmailBackend"
    assert invite("nina@acme.test").status_code == 302
    invitation = Invitation.objects.get(email="nina@acme.test")
    assert invitations.token_for(invitation) in tenant_admin_client.get("/t/acme/members/").content.decode()


class BrokenEmailBackend:
    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server is down")


def test_no_link_or_nonce_is_written_to_the_audit_log(invite, acme, tenant_admin_client):
    invite("nina@acme.test")
    invitation = Invitation.objects.get(email="nina@acme.test")
    tenant_admin_client.post(f"/t/acme/members/invitations/{invitation.pk}/resend/")
    join_as_new_person(Client(), sent_link())
    logged = str(list(AuditEvent.objects.values()))
    assert invitation.nonce not in logged and sent_link().split("/")[2] not in logged and NEW_PASSWORD not in logged


# --- Who reaches the pages ----------------------------------------------------------------------


@pytest.fixture
def invitation(invite, acme):
    invite("nina@acme.test")
    return Invitation.objects.get(email="nina@acme.test")


def test_the_pages_need_a_login(invitation):
    for path in ["/t/acme/members/", f"/t/acme/members/invitations/{invitation.pk}/revoke/"]:
        response = Client().post(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_agent_gets_403(invitation, agent_client):
    assert agent_client.get("/t/acme/members/").status_code == 403
    assert agent_client.post("/t/acme/members/", {"email": "x@acme.test", "role": "agent"}).status_code == 403
    for action in ("resend", "revoke"):
        assert agent_client.post(f"/t/acme/members/invitations/{invitation.pk}/{action}/").status_code == 403
    assert Invitation.objects.get().is_open and not Invitation.objects.filter(email="x@acme.test").exists()


def test_an_outsider_gets_404_even_under_their_own_workspace(invitation, outsider_client):
    assert outsider_client.get("/t/acme/members/").status_code == 404
    for slug in ("acme", "globex"):
        for action in ("resend", "revoke"):
            path = f"/t/{slug}/members/invitations/{invitation.pk}/{action}/"
            assert outsider_client.post(path).status_code == 404, path
    invitation.refresh_from_db()
    assert invitation.is_open


def test_a_closed_invitation_is_404_on_the_members_buttons(invitation, tenant_admin_client):
    tenant_admin_client.post(f"/t/acme/members/invitations/{invitation.pk}/revoke/")
    for action in ("resend", "revoke"):
        assert tenant_admin_client.post(f"/t/acme/members/invitations/{invitation.pk}/{action}/").status_code == 404


def test_the_wrong_method_gets_405(invitation, tenant_admin_client):
    assert tenant_admin_client.put("/t/acme/members/").status_code == 405
    for action in ("resend", "revoke"):
        assert tenant_admin_client.get(f"/t/acme/members/invitations/{invitation.pk}/{action}/").status_code == 405
    assert Client().put(sent_link()).status_code == 405
    assert Client().delete(sent_link()).status_code == 405


def test_a_refused_link_is_logged_without_its_token(invite, acme, caplog):
    from inbox.log_filters import RedactSecrets

    invite("nina@acme.test")
    token = sent_link().split("/")[2]
    join_as_new_person(Client(), sent_link(), password="short")  # Django logs "Bad Request: <path>"
    [record] = [record for record in caplog.records if record.name == "django.request"]
    RedactSecrets().filter(record)
    assert record.getMessage() == "Bad Request: /invitations/[redacted]/"
    assert token not in record.getMessage()


def test_no_view_calls_add_member_with_a_password():
    """The command keeps its --password (a contract with the operator's scripts); pages never."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    modules = [
        path
        for app in ("accounts", "dashboard", "inbox", "tenants", "whatsapp")
        for path in (root / app).glob("**/*.py")
        if "views" in path.name or path.parent.name == "views"
    ]
    modules += [root / "tenants" / "invitations.py"]
    assert root / "tenants" / "views.py" in modules and root / "tenants" / "invitation_views.py" in modules
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "add_member":
                assert "password" not in [keyword.arg for keyword in node.keywords], f"{path}:{node.lineno}"
