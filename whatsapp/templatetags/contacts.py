from django import template

from whatsapp.contacts import actions as contacts
from whatsapp.search import queries as search

register = template.Library()

CONVERSATIONS_SHOWN = 20


@register.simple_tag
def conversations_of(contact):
    """The contact's conversations, latest activity first (one per business number)."""
    return contact.conversations.select_related("phone_number").order_by("-last_activity_at")[:CONVERSATIONS_SHOWN]


@register.simple_tag
def contact_limits():
    """The side panel's field lengths: those update_contact checks."""
    return {
        "name": contacts.NAME_MAX,
        "notes": contacts.NOTES_MAX,
        "key": contacts.ATTRIBUTE_KEY_MAX,
        "value": contacts.ATTRIBUTE_VALUE_MAX,
    }


@register.filter
def search_headline(message, query):
    """The message's text around the search's words, escaped, with the words marked."""
    return search.headline(message.text, query)
