from django import template

from whatsapp.search import queries as search

register = template.Library()

CONVERSATIONS_SHOWN = 20


@register.simple_tag
def conversations_of(contact):
    """The contact's conversations, latest activity first (one per business number)."""
    return contact.conversations.select_related("phone_number").order_by("-last_activity_at")[:CONVERSATIONS_SHOWN]


@register.filter
def search_headline(message, query):
    """The message's text around the search's words, escaped, with the words marked."""
    return search.headline(message.text, query)
