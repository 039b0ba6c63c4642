"""Bad input gets a 4xx with a reason, never a 500: NUL characters, ids that are not
numbers, message types that name no template, and assignees from elsewhere."""

import pytest
from django.template.loader import get_template
from django.test import Client

from tenants.models import Role
from tenants.setup import add_member
from tests.support.world import build_world
from whatsapp.models import Message
from whatsapp.templatetags.inbox import CONTENT_TEMPLATES


@pytest.fixture
def world(acme, owner):
    return build_world(acme, owner.memberships.get(tenant=acme))


@pytest.fixture
def owner_client(owner):
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/t/acme/search/",
        "/t/acme/contacts/",
        "/t/acme/logs/",
        "/t/acme/logs/graph/",
        "/t/acme/inbox/",
        "/t/acme/audit/",
    ],
)
def test_a_nul_in_the_query_is_refused_with_a_reason(owner_client, world, path):
    response = owner_client.get(path, {"q": "ab\x00cd"})
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_nul_in_a_form_field_is_refused_and_nothing_is_stored(owner_client, world):
    notes = world.conversation.notes.count()
    response = owner_client.post(f"/t/acme/inbox/c/{world.conversation.pk}/notes/", {"text": "hi\x00there"})
    assert response.status_code == 400
    assert world.conversation.notes.count() == notes


def test_the_webhook_reads_its_own_body_past_the_nul_check(webhook):
    response = webhook.post({"object": "whatsapp_business_account", "entry": []})
    assert response.status_code == 200


def test_a_template_id_that_is_not_a_number_is_a_400_with_a_reason(owner_client, world):
    response = owner_client.post(f"/t/acme/inbox/c/{world.conversation.pk}/template/", {"template": "abc"})
    assert response.status_code == 400
    assert response.json()["error"] == "Choose a template from the list."


def test_a_missing_template_is_a_404(owner_client, world):
    response = owner_client.post(f"/t/acme/inbox/c/{world.conversation.pk}/template/", {"template": "999999"})
    assert response.status_code == 404


def test_a_message_type_that_names_no_template_is_drawn_as_unknown(owner_client, world):
    """A type from a webhook like "../_message" once picked a template by path and recursed."""
    for kind in ["../_message", "_default", "../../base", "text/../../base"]:
        Message.objects.create(
            tenant=world.tenant,
            conversation=world.conversation,
            direction="in",
            type=kind,
            content={"type": kind},
            wamid=f"wamid.hostile.{kind}",
            status="read",
        )
    response = owner_client.get(f"/t/acme/inbox/c/{world.conversation.pk}/")
    assert response.status_code == 200


def test_every_known_type_has_its_template():
    for kind in CONTENT_TEMPLATES:
        assert get_template(f"whatsapp/content/{kind}.html")


def test_assigning_an_unknown_id_and_a_non_member_give_the_same_answer(owner_client, world, outsider):
    url = f"/t/acme/inbox/c/{world.conversation.pk}/assign/"
    missing = owner_client.post(url, {"assignee": "987654321"})
    elsewhere = owner_client.post(url, {"assignee": str(outsider.pk)})
    assert missing.status_code == elsewhere.status_code == 400
    assert missing.json() == elsewhere.json()


def test_assigning_a_member_still_works(owner_client, world, acme):
    colleague = add_member(acme, "colleague@acme.test", role=Role.AGENT).user
    response = owner_client.post(f"/t/acme/inbox/c/{world.conversation.pk}/assign/", {"assignee": str(colleague.pk)})
    assert response.status_code == 200
    assert response.json() == {"assignee_id": colleague.pk}
