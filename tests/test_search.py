"""Searching messages and contacts: PostgreSQL full-text through the GIN indexes, prefixes,
paging by key, tenants kept apart, hostile queries and text."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from whatsapp.models import Contact, Conversation, Message
from whatsapp.search import queries as search


@pytest.fixture
def thread(acme):
    contact = Contact.objects.create(tenant=acme, wa_id="15551234567", profile_name="Ada")
    return Conversation.objects.create(tenant=acme, contact=contact, phone_number=acme.phone_numbers.get())


def say(conversation, text, minutes_ago=0, **fields):
    return Message.objects.create(
        tenant=conversation.tenant,
        conversation=conversation,
        direction="in",
        text=text,
        timestamp=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


def found_messages(client, query, **params):
    response = client.get("/t/acme/search/", {"q": query, **params})
    assert response.status_code == 200
    return response, [message.text for message in response.context["messages_found"]]


def test_a_word_finds_its_messages_newest_first_linking_to_their_place_in_the_thread(agent_client, thread):
    older = say(thread, "My parcel is late", minutes_ago=10)
    newer = say(thread, "Where is the PARCEL?", minutes_ago=1)
    say(thread, "Thanks!")
    response, texts = found_messages(agent_client, "parcel")
    assert texts == ["Where is the PARCEL?", "My parcel is late"]
    content = response.content.decode()
    assert f'href="/t/acme/inbox/c/{thread.pk}/?at={newer.pk}#message-{newer.pk}"' in content
    assert f"#message-{older.pk}" in content


def test_every_word_must_match_and_the_last_may_be_a_prefix(agent_client, thread):
    say(thread, "tracking number 4711 for the parcel")
    say(thread, "tracking is broken")
    assert found_messages(agent_client, "track 47")[1] == ["tracking number 4711 for the parcel"]
    assert found_messages(agent_client, "parcel tracking")[1] == ["tracking number 4711 for the parcel"]


def test_names_and_numbers_are_not_stemmed_away(agent_client, thread):
    say(thread, "I am the one")  # 'english' would drop these stop words; 'simple' keeps them
    assert found_messages(agent_client, "the one")[1] == ["I am the one"]


def test_matches_are_marked_in_escaped_text(agent_client, thread):
    say(thread, "<script>alert('parcel')</script> my parcel")
    content = found_messages(agent_client, "parcel")[0].content.decode()
    assert "<script>alert" not in content
    assert "&lt;script&gt;" in content
    assert "<mark>parcel</mark>" in content


def test_another_tenants_messages_are_never_found(agent_client, thread, globex):
    contact = Contact.objects.create(tenant=globex, wa_id="15551234567", name="Globex customer")
    other = Conversation.objects.create(tenant=globex, contact=contact, phone_number=globex.phone_numbers.get())
    say(other, "secret parcel of globex")
    response, texts = found_messages(agent_client, "parcel")
    assert texts == []
    assert response.context["contacts_found"] == []


def test_deleted_messages_and_reactions_are_not_found(agent_client, thread):
    say(thread, "parcel I deleted", deleted_at=timezone.now())
    say(thread, "parcel", type="reaction")
    assert found_messages(agent_client, "parcel")[1] == []


def test_messages_page_by_key(agent_client, thread):
    for n in range(30):
        say(thread, f"parcel update {n}", minutes_ago=n)
    response, first = found_messages(agent_client, "parcel")
    assert len(first) == 25 and first[0] == "parcel update 0"
    response, rest = found_messages(agent_client, "parcel", before=response.context["older_before"])
    assert rest == [f"parcel update {n}" for n in range(25, 30)]
    assert response.context["older_before"] is None
    assert "contacts_found" in response.context and response.context["contacts_found"] == []  # shown on page one only


def test_a_page_key_from_another_tenant_is_ignored(agent_client, thread, globex):
    contact = Contact.objects.create(tenant=globex, wa_id="1555000", name="G")
    other = Conversation.objects.create(tenant=globex, contact=contact, phone_number=globex.phone_numbers.get())
    foreign = say(other, "anything", minutes_ago=100)
    say(thread, "parcel")
    assert found_messages(agent_client, "parcel", before=foreign.pk)[1] == ["parcel"]


def test_contacts_are_found_by_name_before_notes(agent_client, acme):
    Contact.objects.create(tenant=acme, wa_id="4930000001", notes="Friend of Marta")
    Contact.objects.create(tenant=acme, wa_id="4930000002", name="Marta Díaz")
    response = agent_client.get("/t/acme/search/", {"q": "marta"})
    assert [contact.wa_id for contact in response.context["contacts_found"]] == ["4930000002", "4930000001"]


def test_many_matching_contacts_link_to_the_contacts_page(agent_client, acme):
    Contact.objects.bulk_create([Contact(tenant=acme, wa_id=f"49300000{n:02d}", name=f"Lee {n}") for n in range(6)])
    response = agent_client.get("/t/acme/search/", {"q": "lee"})
    assert len(response.context["contacts_found"]) == 5
    assert 'href="/t/acme/contacts/?q=lee"' in response.content.decode()


@pytest.mark.parametrize(
    "query", ["a & | ! :* ( ) ' \\", "<->", "!!!", "x" * 5000, "'; DROP TABLE x; --"]
)  # NUL: test_bad_input
def test_query_syntax_and_junk_never_break_the_page(agent_client, thread, query):
    say(thread, "hello")
    assert agent_client.get("/t/acme/search/", {"q": query}).status_code == 200


def test_an_empty_query_shows_no_results(agent_client, thread):
    say(thread, "hello")
    response = agent_client.get("/t/acme/search/", {"q": "  "})
    assert response.context["messages_found"] == [] and not response.context["searched"]


def test_the_search_box_keeps_the_query(agent_client, thread):
    content = agent_client.get("/t/acme/search/", {"q": "parcel"}).content.decode()
    assert 'id="topbar-search" value="parcel"' in content


def test_terms_are_letters_and_digits_only():
    assert search.terms_of("C'est l'été: +49 (151) foo_bar") == ["C", "est", "l", "été", "49", "151", "foo", "bar"]


def test_without_postgresql_search_falls_back_to_contains(agent_client, thread, acme, monkeypatch):
    """The embedded demo runs on SQLite: no full-text there, but search still works."""
    monkeypatch.setattr(search, "full_text", lambda: False)
    say(thread, "my PARCEL is late")
    Contact.objects.create(tenant=acme, wa_id="4930000002", name="Marta Díaz", notes="parcel person")
    response, texts = found_messages(agent_client, "arce")
    assert texts == ["my PARCEL is late"]
    assert [c.name for c in response.context["contacts_found"]] == ["Marta Díaz"]
    assert [c.name for c in search.matching_contacts(acme, "+49 300")] == ["Marta Díaz"]


# The indexes: with 2M messages, search must never read the whole table.


def plan_of(queryset):
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny test tables would be scanned anyway
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_message_vector_is_the_gin_index_expression(db):
    """Migration 0004 writes the index by hand: it must stay the expression search.py queries."""
    matches = Message.objects.alias(vector=search.MESSAGE_VECTOR).filter(vector=search._prefix_query(["parcel"]))
    assert "Bitmap Index Scan on message_text_search" in plan_of(matches)


def test_the_contact_vector_is_the_gin_index_expression(db):
    matches = Contact.objects.alias(vector=search.CONTACT_VECTOR).filter(vector=search._prefix_query(["ada"]))
    assert "Bitmap Index Scan on contact_text_search" in plan_of(matches)


def test_a_number_prefix_uses_an_index(db):
    plan = plan_of(Contact.objects.filter(wa_id__startswith="49151"))
    assert "Index Cond" in plan and "wa_id" in plan  # Django's varchar_pattern_ops index on wa_id


def test_a_long_message_is_cut_around_its_first_match():
    text = "x " * 300 + "the parcel arrived " + "y " * 300
    html = search.headline(text, "parcel")
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>parcel</mark>" in html and len(html) < 300


def test_a_term_is_marked_only_at_the_start_of_a_word():
    assert search.headline("spare parcels", "par") == "spare <mark>par</mark>cels"
