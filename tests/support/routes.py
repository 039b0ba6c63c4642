"""The project's routes read from the URL configuration, filled with a world's real ids: the
isolation, hardening and browser-security walks use them, so a page added later is covered
without touching those tests."""

import re

import pytest
from django.urls import URLResolver, get_resolver

TENANT_PREFIX = "t/<slug:slug>/"
CONVERTER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
MISSING_ID = 2_147_483_647  # the largest id PostgreSQL's integer holds: no test makes that many rows

# Which object of the tenant each URL argument names. A new argument must be added here,
# or every walk fails: no future URL can escape isolation testing silently.
KWARG_OBJECTS = {
    "conversation_id": lambda world: world.conversation.pk,
    "message_id": lambda world: world.message.pk,
    "media_file_id": lambda world: world.media_file.pk,
    "event_id": lambda world: world.event.pk,
    "label_id": lambda world: world.label.pk,
    "canned_id": lambda world: world.canned.pk,
    "member_id": lambda world: world.member.pk,
    "contact_id": lambda world: world.contact.pk,
    "template_id": lambda world: world.template.pk,
    "number_id": lambda world: world.conversation.phone_number_id,
    "note_id": lambda world: world.note.pk,
    "call_id": lambda world: world.call.pk,
    "invitation_id": lambda world: world.invitation.pk,
    "reject_id": lambda world: world.reject.pk,
    "key_id": lambda world: world.extra["api_key"].pk,
    "endpoint_id": lambda world: world.endpoint.pk,
    "delivery_id": lambda world: world.delivery.pk,
}


def all_routes(patterns=None, prefix=""):
    """Every route of the project as its full pattern text, includes flattened."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from all_routes(pattern.url_patterns, route)
        else:
            yield route


def tenant_routes():
    return sorted({route for route in all_routes() if route.startswith(TENANT_PREFIX)})


def fill(route, slug, world):
    """The route as a path, for this slug, with the world's real ids."""

    def value(match):
        name = match["name"]
        if name == "slug":
            return slug
        if name not in KWARG_OBJECTS:
            pytest.fail(f"{route}: no object for the URL argument <{name}>; add it to KWARG_OBJECTS in {__file__}")
        return str(KWARG_OBJECTS[name](world))

    return "/" + CONVERTER.sub(value, route)


def fill_with_missing_ids(route, slug):
    """The route as a path, for this slug, with ids no object has."""
    return "/" + CONVERTER.sub(lambda match: slug if match["name"] == "slug" else str(MISSING_ID), route)


def takes_ids(route):
    return any(match["name"] != "slug" for match in CONVERTER.finditer(route))
