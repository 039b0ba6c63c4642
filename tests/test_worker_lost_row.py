"""A job whose row is deleted while it runs (a purge, a test's flush, a person in the
shell) leaves nothing to record: the worker says so and carries on, it does not die."""

import logging

from django_tasks_db.models import DBTaskResult

from tests.support.worker_tasks import delete_own_row
from whatsapp.jobs.worker import ThreadedWorker


def test_a_job_whose_row_went_away_does_not_stop_the_worker(
    transactional_db, caplog, no_live_stack
):  # no outer transaction, as in a worker; no other worker to take the job first
    delete_own_row.enqueue()
    result = DBTaskResult.objects.get(task_path=delete_own_row.module_path)
    result.claim("test-worker")
    worker = ThreadedWorker(
        threads=1,
        queue_names=["*"],
        interval=0.1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    with caplog.at_level(logging.WARNING, logger="whatsapp.jobs.worker"):
        worker.run_task(result)
    assert not DBTaskResult.objects.exists()
    assert "ended after its row was deleted" in caplog.text
