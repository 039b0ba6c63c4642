"""Requests per second per API key. Counted in Redis when REDIS_URL is set, so every web
process shares one count; without Redis (the embedded demo, one process) in this process."""

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 1
_local_lock = threading.Lock()
_local_counts = {}
_redis = None


@dataclass
class Window:
    limit: int
    used: int
    resets_in: float  # seconds until the window ends

    @property
    def allowed(self):
        return self.used <= self.limit

    @property
    def remaining(self):
        return max(self.limit - self.used, 0)

    def headers(self):
        """The RateLimit-* fields (draft-ietf-httpapi-ratelimit-headers), and Retry-After when spent."""
        reset = max(math.ceil(self.resets_in), 1)
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{self.limit};w={WINDOW_SECONDS}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(reset)
        return headers


def _redis_client():
    global _redis
    with _local_lock:
        if _redis is None:
            import redis

            _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        return _redis


def _count(name, window):
    key = f"api-rate:{name}:{window}"
    if settings.REDIS_URL:
        pipe = _redis_client().pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS + 1)
        used, _ = pipe.execute()
        return used
    with _local_lock:
        if len(_local_counts) > 10_000:  # past windows: forget them
            _local_counts.clear()
        _local_counts[key] = _local_counts.get(key, 0) + 1
        return _local_counts[key]


def take(name, limit, now=None):
    """Count one request of key `name` against `limit` a second; returns its Window. When
    Redis cannot be reached the request is let through (and logged): an outage of the
    counter should not stop every integration."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    try:
        used = _count(name, window)
    except Exception as error:  # redis' errors, whatever the client raises
        logger.warning("API rate limit not counted: %s", error)
        used = 1
    return Window(limit=limit, used=used, resets_in=(window + 1) * WINDOW_SECONDS - now)
