"""Whether a tenant listens for an event type, answered from a per-process set of (tenant,
event type) pairs, reloaded every CACHE_SECONDS and at once in the process that changes an
endpoint. Another process sees a new or changed endpoint within CACHE_SECONDS."""

import threading
import time

from .models import Endpoint

CACHE_SECONDS = 5.0

_lock = threading.Lock()
_cache = {"pairs": frozenset(), "loaded_at": None}


def forget_subscriptions():
    """Reload the subscriptions on the next look (called by every change to an endpoint)."""
    _cache["loaded_at"] = None


def _pairs():
    loaded_at = _cache["loaded_at"]
    if loaded_at is not None and time.monotonic() - loaded_at < CACHE_SECONDS:
        return _cache["pairs"]
    with _lock:
        rows = Endpoint.objects.filter(active=True, tenant__active=True).values_list("tenant_id", "event_types")
        pairs = frozenset((tenant_id, event_type) for tenant_id, types in rows for event_type in types)
        _cache["pairs"], _cache["loaded_at"] = pairs, time.monotonic()
    return pairs


def subscribed(tenant_id, event_type):
    return (tenant_id, event_type) in _pairs()
