"""Text cut to the length its database column holds, so each limit is spelled once: on the
model field (`max_length`)."""


def fit(model, field_name, value):
    """`value` (a string) cut to `model.field_name`'s max_length."""
    return value[: model._meta.get_field(field_name).max_length]
