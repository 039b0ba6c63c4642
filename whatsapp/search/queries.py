"""Finding messages and contacts by what they say.

On PostgreSQL this is full-text search with the 'simple' configuration (names and numbers are
kept as typed: no stemming, no stop words), through the GIN indexes of migration
0004_contacts_search. Every word typed matches as a prefix, so "carl" finds Carla. On SQLite,
the embedded demo, it falls back to case-insensitive LIKE: slow on big tables, but the demo
has small ones.
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Q
from django.utils.html import escape
from django.utils.safestring import mark_safe

from whatsapp.message_types import FOLLOWUP_TYPES
from whatsapp.models import Contact, Message

MAX_QUERY_LENGTH = 200
MAX_TERMS = 8
MIN_PHONE_DIGITS = 3
# The index expressions of migration 0004 are exactly these vectors: keep them in step.
MESSAGE_VECTOR = SearchVector("text", config="simple")
CONTACT_VECTOR = SearchVector("name", "profile_name", "notes", config="simple")
# For ranking only (never in WHERE): a name outweighs a note.
CONTACT_RANKED_VECTOR = SearchVector("name", "profile_name", weight="A", config="simple") + SearchVector(
    "notes", weight="C", config="simple"
)
HEADLINE_LENGTH = 240


def terms_of(query):
    """The words of a query: letters and digits only, so nothing typed can be tsquery syntax."""
    return re.findall(r"[^\W_]+", (query or "")[:MAX_QUERY_LENGTH])[:MAX_TERMS]


def full_text():
    return connection.vendor == "postgresql"


def _prefix_query(terms):
    # Each term is letters and digits only (terms_of), so this raw tsquery is always valid.
    return SearchQuery(" & ".join(f"{term}:*" for term in terms), search_type="raw", config="simple")


def phone_digits(query):
    """The digits of a query that looks like a phone number (+44 20-7946 0958), else ""."""
    stripped = re.sub(r"[\s()+.\-]", "", query or "")
    return stripped if stripped.isdigit() and len(stripped) >= MIN_PHONE_DIGITS else ""


def _contact_identity_match(query):
    """A number matches from its start (country code first); a user id matches whole. Both
    are indexed lookups, so they can be OR-ed with the full-text match without a scan."""
    match = Q(user_id=query.strip()) if query.strip() else Q(pk__in=[])
    if digits := phone_digits(query):
        match |= Q(wa_id__startswith=digits)
    return match


def matching_contacts(tenant, query, *, ranked=False):
    """The tenant's contacts whose name, WhatsApp name, notes, number or user id match.
    Ranked best first when asked; otherwise unordered, for the caller to page."""
    contacts = Contact.objects.filter(tenant=tenant)
    terms = terms_of(query)
    if not terms:
        return contacts.none()
    identity = _contact_identity_match(query)
    if full_text():
        search_query = _prefix_query(terms)
        contacts = contacts.alias(vector=CONTACT_VECTOR).filter(Q(vector=search_query) | identity)
        if ranked:
            contacts = contacts.annotate(rank=SearchRank(CONTACT_RANKED_VECTOR, search_query)).order_by("-rank", "-pk")
        return contacts
    words = Q()
    for term in terms:
        words &= Q(name__icontains=term) | Q(profile_name__icontains=term) | Q(notes__icontains=term)
    contacts = contacts.filter(words | identity)
    return contacts.order_by("-pk") if ranked else contacts


def matching_messages(tenant, query):
    """The tenant's messages whose text matches, newest first.

    Ordered by time, not rank: people look for a recent conversation, and ranking a common
    word would compute a vector for each of its many matches instead of a page's worth."""
    terms = terms_of(query)
    messages = (
        Message.objects.filter(tenant=tenant, deleted_at__isnull=True)
        .exclude(type__in=FOLLOWUP_TYPES)
        .select_related("conversation__contact", "conversation__phone_number")
        .defer("content")
        .order_by("-timestamp", "-pk")
    )
    if not terms:
        return messages.none()
    if not full_text():
        for term in terms:
            messages = messages.filter(text__icontains=term)
        return messages
    return messages.alias(vector=MESSAGE_VECTOR).filter(vector=_prefix_query(terms))


def headline(text, query):
    """Safe HTML for a result: an excerpt around the first match, escaped, with the words that
    start with a term marked. Done here rather than with ts_headline, which drops anything that
    looks like an HTML tag from the customer's text."""
    terms = terms_of(query)
    if not terms:
        return escape(text[:HEADLINE_LENGTH])
    # A term matches at the start of a word, as the prefix tsquery does.
    pattern = re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(term) for term in terms) + ")", re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, first.start() - HEADLINE_LENGTH // 4) if first and len(text) > HEADLINE_LENGTH else 0
    excerpt = text[start : start + HEADLINE_LENGTH]
    pieces, done = ["…" if start else ""], 0
    for match in pattern.finditer(excerpt):
        pieces += [escape(excerpt[done : match.start()]), "<mark>", escape(match.group()), "</mark>"]
        done = match.end()
    pieces += [escape(excerpt[done:]), "…" if start + HEADLINE_LENGTH < len(text) else ""]
    return mark_safe("".join(pieces))
