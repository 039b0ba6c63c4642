"""The shared way owners' and admins' requests reach Meta (numbers, profiles, templates):
the workspace's connection, and Meta's refusal in words."""

import pytest

from whatsapp.cloud.account import at_meta, connection_of
from whatsapp.cloud.api import CloudAPIError
from whatsapp.errors import ActionError
from whatsapp.models import Connection


def refuse(code, message, details):
    raise CloudAPIError(code, message, details)


def test_the_answer_comes_back_when_meta_accepts(acme):
    assert at_meta(lambda *args: args, connection_of(acme), "x") == (acme.whatsapp, "x")


def test_a_workspace_without_a_connection_is_told_to_connect_first(acme):
    Connection.objects.filter(tenant=acme).delete()
    with pytest.raises(ActionError, match="Connect the workspace to WhatsApp first"):
        connection_of(acme)


def test_a_refusal_is_told_in_the_words_agents_get():
    with pytest.raises(ActionError) as refused:
        at_meta(refuse, 100, "Invalid parameter", "The PIN must be 6 digits.")
    assert str(refused.value) == (
        "Meta refused it: WhatsApp rejected the request as invalid. WhatsApp said: The PIN must be 6 digits."
    )
    assert isinstance(refused.value.__cause__, CloudAPIError)


def test_a_refusal_can_be_told_in_metas_own_words():
    with pytest.raises(ActionError) as refused:
        at_meta(refuse, 100, "Invalid parameter", "Body: too many variables.", meta_words_only=True)
    assert str(refused.value) == "Meta refused it: Body: too many variables."
    with pytest.raises(ActionError, match="Meta refused it: Invalid parameter$"):
        at_meta(refuse, 100, "Invalid parameter", "", meta_words_only=True)
