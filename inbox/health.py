"""What /healthz reports: the database (the only thing that fails the check), the channel
layer and the task queue's backlog.

Only the database decides the status code: a web process without its database can serve
nothing, so the load balancer should take it out. Without the channel layer pages still
work (they resynchronise when their websocket comes back), and a backlog says the workers
are behind, not that this process is broken: both are reported for monitoring instead.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.db.models import Case, Count, F, Min, When
from django.db.models.functions import Greatest
from django.utils import timezone

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
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = now or timezone.now()
    # A task without run_after has the far-future sentinel there: it has waited since enqueued.
    due_since = Case(
        When(run_after=get_date_max(), then=F("enqueued_at")), default=Greatest(F("enqueued_at"), F("run_after"))
    )
    backlog = DBTaskResult.objects.ready().aggregate(ready=Count("pk"), oldest=Min(due_since))
    oldest = backlog["oldest"]
    return {"ready": backlog["ready"], "oldest_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0}
