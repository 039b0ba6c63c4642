"""Changing a member's role and removing a member (tenants/members.py) from the members page:
audited with who, what and where; only owners manage owners; the last owner stays; agents
get 403 and outsiders 404."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenants.models import AuditEvent, Membership, Role
from tenants.setup import add_member

Action = AuditEvent.Action


@pytest.fixture
def admin(acme):
    return add_member(acme, "admin@acme.test", role=Role.ADMIN).user


def client_of(user):
    client = Client(REMOTE_ADDR="198.51.100.9")
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return client_of(owner)


@pytest.fixture
def admin_client(admin):
    return client_of(admin)


@pytest.fixture
def member(acme):
    """An agent of acme, the one whose role changes."""
    return add_member(acme, "member@acme.test", role=Role.AGENT)


def role_url(membership):
    return f"/t/acme/members/{membership.pk}/role/"


def remove_url(membership):
    return f"/t/acme/members/{membership.pk}/remove/"


def entries(tenant, action, target):
    return list(AuditEvent.objects.filter(tenant=tenant, action=action, target=target))


def role_of(membership):
    return Membership.objects.get(pk=membership.pk).role


# --- Changing a role ----------------------------------------------------------------------


def test_an_admin_changes_an_agents_role_and_it_is_audited(acme, admin, admin_client, member):
    response = admin_client.post(role_url(member), {"role": "admin"})
    assert response.status_code == 302 and response["Location"] == "/t/acme/members/"
    assert role_of(member) == Role.ADMIN
    [entry] = entries(acme, Action.MEMBER_ROLE_CHANGED, "member@acme.test")
    assert (entry.actor, entry.details, entry.ip) == (admin, {"from": "agent", "to": "admin"}, "198.51.100.9")


def test_the_same_role_again_changes_nothing_and_writes_nothing(acme, admin_client, member):
    admin_client.post(role_url(member), {"role": "agent"})
    assert not entries(acme, Action.MEMBER_ROLE_CHANGED, "member@acme.test")


def test_an_unknown_role_is_refused_with_a_message(acme, admin_client, member):
    response = admin_client.post(role_url(member), {"role": "emperor"}, follow=True)
    assert "Unknown role." in response.content.decode()
    assert role_of(member) == Role.AGENT and not entries(acme, Action.MEMBER_ROLE_CHANGED, "member@acme.test")


def test_only_owners_make_owners(acme, admin_client, owner_client, member):
    assert admin_client.post(role_url(member), {"role": "owner"}).status_code == 403
    assert role_of(member) == Role.AGENT
    assert owner_client.post(role_url(member), {"role": "owner"}).status_code == 302
    assert role_of(member) == Role.OWNER


def test_an_admin_cannot_change_an_owners_role(acme, owner, admin_client):
    owners = Membership.objects.get(user=owner)
    assert admin_client.post(role_url(owners), {"role": "agent"}).status_code == 403
    assert role_of(owners) == Role.OWNER


def test_the_last_owner_stays_an_owner(acme, owner, owner_client):
    mine = Membership.objects.get(user=owner)
    response = owner_client.post(role_url(mine), {"role": "admin"}, follow=True)
    assert "A workspace keeps at least one owner." in response.content.decode()
    assert role_of(mine) == Role.OWNER and not entries(acme, Action.MEMBER_ROLE_CHANGED, owner.email)


def test_an_owner_steps_down_once_there_is_another(acme, owner, owner_client, member):
    owner_client.post(role_url(member), {"role": "owner"})
    mine = Membership.objects.get(user=owner)
    owner_client.post(role_url(mine), {"role": "admin"})
    assert role_of(mine) == Role.ADMIN


# --- Removing a member --------------------------------------------------------------------


def test_an_admin_removes_an_agent_and_it_is_audited(acme, admin, admin_client, member):
    assert admin_client.post(remove_url(member)).status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert get_user_model().objects.filter(pk=member.user_id).exists()  # the account stays
    [entry] = entries(acme, Action.MEMBER_REMOVED, "member@acme.test")
    assert (entry.actor, entry.details, entry.ip) == (admin, {"role": "agent"}, "198.51.100.9")


def test_an_admin_cannot_remove_an_owner(acme, owner, admin_client):
    owners = Membership.objects.get(user=owner)
    assert admin_client.post(remove_url(owners)).status_code == 403
    assert Membership.objects.filter(pk=owners.pk).exists()


def test_the_last_owner_cannot_be_removed(acme, owner, owner_client):
    mine = Membership.objects.get(user=owner)
    response = owner_client.post(remove_url(mine), follow=True)
    assert "A workspace keeps at least one owner." in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()
    assert not entries(acme, Action.MEMBER_REMOVED, owner.email)


# --- Who may ask --------------------------------------------------------------------------


@pytest.mark.parametrize("url", [role_url, remove_url])
def test_agents_get_403_and_nothing_changes(acme, agent_client, member, url):
    assert agent_client.post(url(member), {"role": "admin"}).status_code == 403
    assert role_of(member) == Role.AGENT


@pytest.mark.parametrize("url", [role_url, remove_url])
def test_an_outsider_gets_404_and_nothing_changes(acme, outsider_client, member, url):
    assert outsider_client.post(url(member), {"role": "admin"}).status_code == 404
    assert role_of(member) == Role.AGENT


@pytest.mark.parametrize("url", [role_url, remove_url])
def test_another_workspaces_member_is_404(globex, owner_client, url):
    theirs = add_member(globex, "someone@globex.test", role=Role.AGENT)
    assert owner_client.post(url(theirs), {"role": "admin"}).status_code == 404
    assert Membership.objects.get(pk=theirs.pk).role == Role.AGENT


@pytest.mark.parametrize("url", [role_url, remove_url])
def test_it_takes_a_post_and_a_login(owner_client, member, url):
    assert owner_client.get(url(member)).status_code == 405
    assert Client().post(url(member), {"role": "admin"})["Location"].startswith("/accounts/login/")
    assert role_of(member) == Role.AGENT
