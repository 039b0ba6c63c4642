"""CSV imports of contacts through the API: the file is kept with its ContactImport row and
a job imports it in chunks, updating the counts as it goes (`GET /contacts/imports/{id}`)."""

import io

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from whatsapp.contacts import actions as contacts
from whatsapp.contacts import csv_io

from .models import ContactImport

PROGRESS_CHUNK = 500
ERRORS_KEPT = csv_io.MAX_ERRORS_SHOWN


class _Upload(io.BytesIO):
    @property
    def size(self):
        return len(self.getvalue())


def queue_import(key, data):
    """Keep the file and queue its import; returns the ContactImport."""
    with transaction.atomic():
        job = ContactImport.objects.create(tenant=key.tenant, api_key=key, content=data)
        import_contacts_job.enqueue(job.pk)
    return job


@task()
def import_contacts_job(import_id):
    job = ContactImport.objects.select_related("tenant").filter(pk=import_id, state=ContactImport.State.QUEUED).first()
    if job is None:
        return
    rows, report = csv_io.read_import(_Upload(bytes(job.content)))
    job.state, job.rows, job.problem = ContactImport.State.RUNNING, len(rows), report.problem
    job.save(update_fields=["state", "rows", "problem"])
    for start in range(0, len(rows), PROGRESS_CHUNK):
        contacts.import_contacts(job.tenant, rows[start : start + PROGRESS_CHUNK], report)
        job.processed = min(start + PROGRESS_CHUNK, len(rows))
        job.created, job.updated, job.unchanged = report.created, report.updated, report.unchanged
        job.save(update_fields=["processed", "created", "updated", "unchanged"])
    job.errors = [[line, message] for line, message in report.errors[:ERRORS_KEPT]]
    job.state = ContactImport.State.FAILED if report.problem else ContactImport.State.DONE
    job.content, job.finished_at = b"", timezone.now()
    job.save(update_fields=["errors", "state", "content", "finished_at"])
