"""What /healthz reports: the database (the only thing that fails the check), the channel
layer, the task queue's backlog and each queue's state.

Only the database decides the status code: a web process without its database can serve
nothing, so the load balancer should take it out. Without the channel layer pages still
work (they resynchronise when their websocket comes back), and a backlog, a stalled queue or
a queue without a worker says the workers are behind or missing, not that this process is
broken: all are reported for monitoring instead.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from whatsapp.jobs.health import backlog_per_queue, queue_health

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT_SECONDS = 1.0
HEALTH_GROUP = "healthz"


def database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"


def channel_layer():
    """ "ok" when a group_send went through the layer (for Redis, a PUBLISH Redis answered)
    within the timeout; "unavailable" otherwise."""
    layer = get_channel_layer()
    if layer is None:
        return "not configured"
    try:
        async_to_sync(_publish)(layer)
    except Exception as error:
        logger.warning("Health check: the channel layer did not answer: %r", error)
        return "unavailable"
    return "ok"


async def _publish(layer):
    await asyncio.wait_for(layer.group_send(HEALTH_GROUP, {"type": "healthz.ping"}), CHANNEL_LAYER_TIMEOUT_SECONDS)


def task_backlog(now=None):
    """Tasks ready to run now, and how long the oldest of them has waited (seconds)."""
    backlog = backlog_per_queue(now).values()
    return {"ready": sum(ready for ready, _ in backlog), "oldest_seconds": max((age for _, age in backlog), default=0)}


def queues(now=None):
    """Per queue: its state ("ok", "stalled" or "no worker"), the jobs due now, how long
    the oldest has waited, and the live workers that take it."""
    return {queue.name: queue.as_json() for queue in queue_health(now)}
