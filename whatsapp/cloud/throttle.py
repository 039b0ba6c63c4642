"""Meta's throughput limit per business number (80 messages a second by default, up to
1,000), shared by every worker on every machine through Redis. Without Redis the inbox runs
as one process, and a lock in that process is enough."""

import threading
import time

from django.conf import settings

_local_lock = threading.Lock()
_local_windows = {}
_redis = None


def _redis_client():
    global _redis
    # Under the lock: a worker's threads start at once, and a second client replacing the
    # first would close the connections the first is using (its pool disconnects when freed).
    with _local_lock:
        if _redis is None:
            import redis

            _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        return _redis


def take_slots(phone_number_id, per_second, wanted, now=None):
    """Claim up to `wanted` sends in the current second for this number. Returns (granted,
    seconds until the next second): never more than `per_second` are granted in one second,
    whichever processes ask. A send that got no slot waits as a job for the next second,
    never as a thread asleep."""
    now = time.time() if now is None else now
    window = int(now)
    key = f"throttle:{phone_number_id}:{window}"
    if settings.REDIS_URL:
        pipe = _redis_client().pipeline()
        pipe.incrby(key, wanted)
        pipe.expire(key, 5)
        used, _ = pipe.execute()
    else:
        with _local_lock:
            if len(_local_windows) > 1000:  # old windows: forget them
                _local_windows.clear()
            used = _local_windows.get(key, 0) + wanted
            _local_windows[key] = used
    granted = max(0, min(wanted, per_second - (used - wanted)))
    return granted, (window + 1) - now


def take_slot(phone_number_id, per_second, now=None):
    """Claim one send in the current second for this number. Returns 0 when it may go now,
    else the seconds to wait before asking again."""
    granted, next_second = take_slots(phone_number_id, per_second, 1, now)
    return 0 if granted else next_second
