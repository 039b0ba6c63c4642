"""Long threads and long lists: the thread opens on its latest messages and pages back by
key, links into old messages open the page that holds them, quotes reach across pages; the
conversation list pages by key and its counts stop at a cap."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from inbox import paging
from whatsapp.conversations import views
from whatsapp.models import Contact, Conversation, Message, Note

PAGE = 5


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", PAGE)


@pytest.fixture
def thread(acme):
    """A conversation of 12 messages, a minute apart, oldest first: texts 'message 0' … 'message 11'."""
    contact = Contact.objects.create(tenant=acme, wa_id="15551234567", profile_name="Ada")
    conversation = Conversation.objects.create(tenant=acme, contact=contact, phone_number=acme.phone_numbers.get())
    start = timezone.now() - timedelta(hours=1)
    Message.objects.bulk_create(
        Message(
            tenant=acme,
            conversation=conversation,
            direction="in",
            text=f"message {i}",
            wamid=f"wamid.{i}",
            timestamp=start + timedelta(minutes=i),
        )
        for i in range(12)
    )
    return conversation


def url(conversation, query=""):
    return f"/t/acme/inbox/c/{conversation.pk}/{query}"


def shown(response):
    return [item.text for item in response.context["thread"].items if not getattr(item, "is_note", False)]


def message(n):
    return Message.objects.get(text=f"message {n}")


def link(response, element_id):
    """The href of the link inside the element with this id, as the browser would follow it."""
    found = re.search(rf'id="{element_id}"><a href="([^"]+)"', response.content.decode())
    return found and found.group(1).replace("&amp;", "&")


def test_a_long_thread_opens_on_its_latest_messages_with_a_link_to_earlier_ones(agent_client, thread):
    response = agent_client.get(url(thread))
    assert shown(response) == [f"message {n}" for n in range(7, 12)]
    assert link(response, "thread-earlier") == f"?before={message(7).pk}"
    assert 'id="thread-later"' not in response.content.decode()


def test_the_earlier_link_works_without_script_back_to_the_first_message(agent_client, thread):
    second = agent_client.get(url(thread, link(agent_client.get(url(thread)), "thread-earlier")))
    assert shown(second) == [f"message {n}" for n in range(2, 7)]
    assert link(second, "thread-later") == f"?at={message(7).pk}#message-{message(7).pk}"
    first = agent_client.get(url(thread, link(second, "thread-earlier")))
    assert shown(first) == ["message 0", "message 1"]
    assert link(first, "thread-earlier") is None


def test_paging_links_keep_the_lists_filters(agent_client, thread):
    response = agent_client.get(url(thread), {"status": "all", "assignee": "mine"})
    assert link(response, "thread-earlier") == f"?status=all&assignee=mine&before={message(7).pk}"


def test_a_link_to_an_old_message_opens_the_page_that_starts_with_it(agent_client, thread):
    old = message(3)
    response = agent_client.get(url(thread), {"at": old.pk})
    assert shown(response) == [f"message {n}" for n in range(3, 8)]
    assert f'id="message-{old.pk}"' in response.content.decode()
    assert link(response, "thread-earlier") == f"?before={old.pk}"
    assert link(response, "thread-later") == f"?at={message(8).pk}#message-{message(8).pk}"


def test_a_link_to_a_recent_message_opens_the_latest_page(agent_client, thread):
    response = agent_client.get(url(thread), {"at": message(10).pk})
    assert shown(response) == [f"message {n}" for n in range(7, 12)]
    assert 'id="thread-later"' not in response.content.decode()


def test_a_page_key_from_another_conversation_is_ignored(agent_client, thread, acme):
    contact = Contact.objects.create(tenant=acme, wa_id="15550000000")
    other = Conversation.objects.create(tenant=acme, contact=contact, phone_number=acme.phone_numbers.get())
    stranger = Message.objects.create(tenant=acme, conversation=other, direction="in", text="elsewhere")
    for key in ("before", "at"):
        assert shown(agent_client.get(url(thread), {key: stranger.pk})) == [f"message {n}" for n in range(7, 12)]
    assert agent_client.get(url(thread), {"before": "junk", "at": "-1"}).status_code == 200


def test_a_quote_of_a_message_on_an_older_page_still_shows_it(agent_client, thread):
    Message.objects.create(
        tenant=thread.tenant,
        conversation=thread,
        direction="out",
        text="Found it",
        reply_to_wamid="wamid.1",
        timestamp=timezone.now(),
    )
    content = agent_client.get(url(thread)).content.decode()
    assert re.search(r'<div class="quote"><span class="quote-author">Ada</span>message 1</div>', content)


def test_notes_show_on_the_page_of_their_time(agent_client, thread, agent):
    between = message(4).timestamp + timedelta(seconds=30)
    Note.objects.create(tenant=thread.tenant, conversation=thread, author=agent, text="called them", timestamp=between)
    assert "called them" not in agent_client.get(url(thread)).content.decode()
    assert "called them" in agent_client.get(url(thread), {"before": message(7).pk}).content.decode()
    assert "called them" not in agent_client.get(url(thread), {"at": message(5).pk}).content.decode()


def test_a_search_result_links_to_the_page_of_its_message(agent_client, thread):
    old = message(2)
    content = agent_client.get("/t/acme/search/", {"q": "message"}).content.decode()
    target = f"/t/acme/inbox/c/{thread.pk}/?at={old.pk}#message-{old.pk}"
    assert f'href="{target}"' in content
    assert f'id="message-{old.pk}"' in agent_client.get(target.split("#")[0]).content.decode()


@pytest.fixture
def many_conversations(acme, monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    now = timezone.now()
    made = []
    for n in range(7):
        contact = Contact.objects.create(tenant=acme, wa_id=f"1555000000{n}", profile_name=f"Customer {n}")
        made.append(
            Conversation.objects.create(
                tenant=acme,
                contact=contact,
                phone_number=acme.phone_numbers.get(),
                last_activity_at=now - timedelta(minutes=n),
            )
        )
    return made


def test_the_conversation_list_pages_by_key(agent_client, many_conversations):
    pages, query = [], {}
    while True:
        context = agent_client.get("/t/acme/inbox/", query).context
        pages.append([c.pk for c in context["conversations"]])
        if not context["older_conversations"]:
            break
        query = {"conversations_before": context["older_conversations"]}
    assert pages == [[c.pk for c in many_conversations[i : i + 3]] for i in (0, 3, 6)]


def test_list_counts_stop_at_the_cap(agent_client, many_conversations, monkeypatch):
    monkeypatch.setattr(views, "COUNTED_UP_TO", 5)
    response = agent_client.get("/t/acme/inbox/")
    assert response.context["counts"] == {"mine": "0", "unassigned": "4+", "all": "4+"}
    assert agent_client.get("/t/acme/inbox/counts/").json() == response.context["counts"]
    assert '<span class="count">4+</span>' in response.content.decode()
