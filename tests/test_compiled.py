"""Querysets compiled once (whatsapp/compiled.py), as the send path's claim uses them."""

import pytest
from django.db import transaction

from whatsapp.compiled import CompiledQuery
from whatsapp.models import Contact, Conversation, Message


@pytest.fixture
def messages(acme, agent):
    contact = Contact.objects.create(tenant=acme, wa_id="15551234567", profile_name="Ada")
    conversation = Conversation.objects.create(tenant=acme, contact=contact, phone_number=acme.phone_numbers.get())
    return [
        Message.objects.create(tenant=acme, conversation=conversation, direction="out", text=text, author=agent)
        for text in ("one", "two")
    ]


def with_author(message_id):
    return Message.objects.select_related("author", "conversation__contact").filter(pk=message_id)


def test_it_returns_each_value_s_object_with_its_related_objects(messages, agent, django_assert_num_queries):
    compiled = CompiledQuery(with_author)
    for message in messages:
        with django_assert_num_queries(1):
            found = compiled.first(message.pk)
            assert (found.pk, found.text, found.content) == (message.pk, message.text, {})
            assert found.author.display_name == agent.display_name
            assert found.conversation.contact.display_name == "Ada"


def test_it_returns_none_when_nothing_matches(messages):
    assert CompiledQuery(with_author).first(messages[-1].pk + 1000) is None


def test_it_locks_as_the_queryset_says(messages, django_assert_num_queries):
    compiled = CompiledQuery(lambda pk: Message.objects.select_for_update().filter(pk=pk))
    with transaction.atomic(), django_assert_num_queries(1) as captured:
        assert compiled.first(messages[0].pk).pk == messages[0].pk
    assert "FOR UPDATE" in captured.captured_queries[0]["sql"]


def test_a_value_that_does_not_reach_the_sql_once_is_refused(messages):
    compiled = CompiledQuery(lambda pk: Message.objects.filter(pk=pk, conversation_id=pk))
    with pytest.raises(ValueError, match="once"):
        compiled.first(messages[0].pk)
