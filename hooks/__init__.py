"""Outgoing webhooks: other systems hear what happened in a workspace, signed (Standard
Webhooks) and never lost. Actions elsewhere call the small API below inside their own
transaction; everything else here (endpoints, deliveries, pages) stays inside the app.
See docs/webhooks.md."""


def subscribed(tenant_id, event_type):
    """Whether any active endpoint of the tenant takes `event_type`: a set lookup, so callers
    can skip building an event's body when nobody listens."""
    from .subscriptions import subscribed

    return subscribed(tenant_id, event_type)


def emit(tenant_id, event_type, data, *, conversation_id=None):
    """Record one event for every active endpoint subscribed to it, in the caller's transaction."""
    from .outbox import emit

    return emit(tenant_id, event_type, data, conversation_id=conversation_id)


def emit_many(tenant_id, event_type, items):
    """Record several events of one type: `items` are (data, conversation_id) pairs."""
    from .outbox import emit_many

    return emit_many(tenant_id, event_type, items)


def forget_contact(tenant_id, contact_id, conversation_ids):
    """A contact is erased: delete the events of its conversations and those naming it."""
    from .retention import forget_contact

    return forget_contact(tenant_id, contact_id, conversation_ids)


def forget_before(tenant_id, cutoff):
    """The workspace's retention period: delete its events recorded before `cutoff`."""
    from .retention import forget_before

    return forget_before(tenant_id, cutoff)
