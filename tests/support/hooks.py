"""Running the outgoing webhooks' delivery as a worker would, inside a test's transaction."""

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from hooks import delivery
from hooks.models import Delivery, Endpoint


def deliver():
    """What the worker does next: the sweep finds endpoints with due deliveries (their wake-up
    waits for a commit that a test's transaction never makes), then every due hooks job runs.
    Returns the number of successful posts."""
    delivery.sweep()
    sent = 0
    while True:
        job = (
            DBTaskResult.objects.ready()
            .filter(task_path=delivery.deliver_endpoint.module_path)
            .order_by("enqueued_at")
            .first()
        )
        if job is None:
            return sent
        job.claim("test-worker")
        sent += job.task.call(*job.task_result.args, **job.task_result.kwargs)
        job.set_successful(None)


def time_passes(endpoint):
    """As if the endpoint's backoff and its deliveries' retry times had passed."""
    past = timezone.now() - timedelta(seconds=1)
    Endpoint.objects.filter(pk=endpoint.pk).update(retry_at=None)
    Delivery.objects.filter(endpoint=endpoint, status="pending").update(next_attempt_at=past)
    DBTaskResult.objects.filter(status="READY", task_path=delivery.deliver_endpoint.module_path).update(run_after=past)
