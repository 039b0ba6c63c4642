"""Running a worker's batches in the test's own thread and transaction."""

from whatsapp.jobs.worker import ThreadedWorker


def run_one_batch(queue_name):
    """What one runner thread of a worker does with the next job of a queue: claim it and
    the batch that comes with it, run them, record their end. Returns the jobs run (0 when
    none was ready)."""
    worker = ThreadedWorker(
        threads=1,
        queue_names=[queue_name],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="batch-test",
        excluded_queue_names=[],
    )
    first = worker._claim()
    if first is None:
        return 0
    batching = worker._batching(first)
    if batching is None:
        worker.run_task(first)
        return 1
    return worker.run_batch(first, batching)
