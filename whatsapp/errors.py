"""Errors the actions raise for people to read."""


class ActionError(Exception):
    """A request the user can fix: the message says how."""
