"""The workers' heartbeats: which `db_worker` processes are alive, and which queues they
take. A row per process, written every few seconds by its worker (whatsapp/jobs/heartbeat.py)
and read by /healthz and the dashboard (whatsapp/jobs/health.py). Platform bookkeeping:
no tenant's data."""

from django.db import models


class WorkerHeartbeat(models.Model):
    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list, help_text="The names of the queues the worker takes.")
    threads = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"worker {self.worker_id} on {self.hostname} (pid {self.pid})"
