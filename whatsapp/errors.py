"""Errors the actions raise for people to read."""


class ActionError(Exception):
    """A request the user can fix: the message says how."""


class FieldError(ActionError):
    """An ActionError about one field of a form, which `field` names (the form's own name)."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
