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


def take_slot(phone_number_id, per_second, now=None):
    """Claim one send in the current second for this number. Returns 0 when it may go now,
    else the seconds to wait before asking again."""
    now = time.time() if now is None else now
    window = int(now)
    key = f"throttle:{phone_number_id}:{window}"
    if settings.REDIS_URL:
        pipe = _redis_client().pipeline()
        pipe.incr(key)
        pipe.expire(key, 5)
        used, _ = pipe.execute()
    else:
        with _local_lock:
            if len(_local_windows) > 1000:  # old windows: forget them
                _local_windows.clear()
            used = _local_windows.get(key, 0) + 1
            _local_windows[key] = used
    return 0 if used <= per_second else (window + 1) - now


def wait_for_slot(phone_number_id, per_second, max_wait=5.0):
    """Block until this number may send; False when max_wait passed first."""
    deadline = time.monotonic() + max_wait
    while (delay := take_slot(phone_number_id, per_second)) > 0:
        if time.monotonic() + delay > deadline:
            return False
        time.sleep(delay)
    return True
