"""The task worker behind `manage.py db_worker`: django-tasks-db's Worker, with several
claim-and-run threads in one process and a wake-up on PostgreSQL's NOTIFY instead of polling.

Why threads: most tasks wait on the network (a send waits ~100 ms or more for Meta), so one
task at a time capped a worker process at ~5 sends/s (issue 8, bench/). Each thread claims
one READY row at a time (SELECT … FOR UPDATE SKIP LOCKED, as their worker does) on its own
database connection, so threads and processes share the queue alike. Exactly-once sending and
per-conversation order do not depend on the worker: delivery.claim locks the message row.

Why NOTIFY: polling every --interval added half an interval to every webhook's latency, and
every idle thread polling would multiply the empty queries. Instead one thread per process
listens on task_backend.CHANNEL and rings a doorbell: one ring per announced task (every task
enqueued through Django; from the webhook fast path, events with customers' messages), and
each ring lets one idle thread claim. The listener also rings once every --interval (the poll), so
nothing waits longer than that when no notification came (the listener reconnecting, a task
whose run_after has passed); a thread woken by the poll that finds a task wakes another, so
such tasks spread over the idle threads too. On SQLite (the embedded demo) there is no
NOTIFY: the doorbell rings every --interval.

Why batches: a task may register a batch runner (whatsapp/jobs/batches.py); a thread that
claims such a job claims up to the batch's size of the task's ready jobs with it in one
statement, taking the rows' groups (a webhook's workspace) in turn, runs them together and
marks them done in one statement (run_batch). Webhook processing is per-event work at
thousands of events a second, where one claim, one result and one set of statements per
event cost more than the event's own work (bench/process_cost.py).

Why it outlives its database: a PostgreSQL restart or failover ends every session. Each
thread that loses the database waits for it with backoff and carries on (whatsapp/jobs/
outage.py; one outage is two lines in the log); so does the listener, polling meanwhile. A
task's claim stays safe: a task that ended during the outage has its end recorded once the
database answers, so nothing takes it for abandoned and runs it again, and a task the outage
cut off (its own queries failed) goes back to the queue and runs again, which every task here
allows (a webhook's items are stored once, a message is claimed for sending once, a file is
fetched once). Other errors still stop the worker, for its supervisor to restart.
"""

import json
import logging
import os
import random
import signal
import sys
import threading
import time

import psycopg
from django.core.exceptions import SuspiciousOperation
from django.db import close_old_connections, connections
from django.db.utils import DatabaseError, OperationalError
from django.utils import timezone
from django_tasks_db.compat import TaskContext, TaskResultStatus, task_backends, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, get_date_max
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from whatsapp.jobs import alarm, batches, heartbeat, priority
from whatsapp.jobs.backend import CHANNEL
from whatsapp.jobs.outage import FIRST_WAIT_SECONDS, LONGEST_WAIT_SECONDS, Outage, is_connection_lost

logger = logging.getLogger("django_tasks_db")

DEFAULT_THREADS = 8
# Jobs above the default priority (0) also have a lane of their own in every worker process
# on PostgreSQL: LANE_THREADS more threads that take only them, so they never wait behind a
# running batch of others. Today these are the events with customers' messages (whatsapp/
# webhook/ingest.py MESSAGES_PRIORITY): under a flood of statuses every thread may be in a
# batch of 100 statuses when a customer writes.
LANE_PRIORITY = 1
LANE_THREADS = 1
# The lowest priority a job can have: what the threads outside the lane take at least.
ANY_PRIORITY = -100
# An idle thread looks for work at least this often even if no bell rings (a safety net).
IDLE_WAIT_SECONDS = 60
# A task cut off by database outages this many times is recorded failed instead of run again.
MAX_CLAIMS = 3


class Doorbell:
    """Wakes one idle thread per ring, the one that went idle last: its caches (a PyWA parser,
    its connection wrapper) are warm, and a quiet worker keeps running on one thread instead of
    rotating through all of them. Rings while no thread waits are kept, up to `limit`, so a
    notification between a thread's empty claim and its wait is not lost. A ring may ask the
    thread it wakes to `spread` the news if it finds work (see ThreadedWorker._run_thread)."""

    def __init__(self, limit):
        self.limit = limit
        self.kept = []  # spread flags of rings nobody was waiting for
        self.waiting = []  # (event, box) of idle threads, the latest last
        self.lock = threading.Lock()

    def ring(self, times=1, spread=False):
        with self.lock:
            for _ in range(times):
                if self.waiting:
                    event, box = self.waiting.pop()
                    box.append(spread)
                    event.set()
                elif len(self.kept) < self.limit:
                    self.kept.append(spread)

    def wait(self, timeout):
        """The ring's spread flag once rung; None after `timeout` seconds without a ring."""
        with self.lock:
            if self.kept:
                return self.kept.pop()
            event, box = threading.Event(), []
            self.waiting.append((event, box))
        event.wait(timeout)
        with self.lock:
            if not box:  # not rung: stop waiting (a ring now finds someone else)
                self.waiting.remove((event, box))
                return None
            return box[0]


class ThreadedWorker(Worker):
    """`threads` claim-and-run loops sharing one doorbell. Call run() from any thread; the
    signal handlers (configure_signals) belong to the main thread."""

    def __init__(self, *, threads=DEFAULT_THREADS, **options):
        super().__init__(**options)
        self.threads = threads
        self.doorbell = Doorbell(limit=threads)
        self.lane_bell = Doorbell(limit=LANE_THREADS)
        self.lanes = 0  # set by run(): LANE_THREADS on PostgreSQL
        self.failure = None  # the error that stopped a thread, and so the worker
        self.tasks_running = 0
        self._count_lock = threading.Lock()
        self._finished_tasks = 0
        self.started_at = timezone.now()
        self._stopping = threading.Event()
        self.outage = Outage()
        self.alias = DBTaskResult.objects.db

    def shutdown(self, signum, frame):
        if not self.running:
            logger.warning("Received %s again - exiting without waiting for running tasks.", signal.strsignal(signum))
            os._exit(1)
        logger.warning("Received %s - finishing running tasks, then exiting (again to force)", signal.strsignal(signum))
        self.stop()
        if not self.tasks_running:
            # As their worker does: nothing to wait for, so exit now (under --reload the main
            # thread is the reloader's, which would otherwise go on).
            sys.exit(0)

    def stop(self):
        self.running = False
        self._stopping.set()
        self.doorbell.ring(self.threads)
        self.lane_bell.ring(LANE_THREADS)

    def queues_taken(self):
        """The queues this worker takes, for its heartbeat; "*" stands for any queue."""
        if not self.process_all_queues:
            return list(self.queue_names)
        if not self.excluded_queue_names:
            return [heartbeat.ANY_QUEUE]
        return sorted(task_backends[self.backend_name].queues - set(self.excluded_queue_names))

    def run(self):
        logger.info(
            "Starting worker worker_id=%s queues=%s threads=%s",
            self.worker_id,
            ",".join(self.queue_names),
            self.threads,
        )
        if self.startup_delay and self.interval:
            time.sleep(random.random())
        threading.Thread(target=self._ring_doorbell, name="task-doorbell", daemon=True).start()
        alarm.listen(self._ring)  # jobs this process enqueued for a later time
        beating = threading.Thread(target=self._beat, name="task-heartbeat", daemon=True)
        beating.start()
        self.lanes = LANE_THREADS if connections[self.alias].vendor == "postgresql" else 0
        runners = [
            threading.Thread(target=self._run_thread, name=f"task-runner-{index}") for index in range(self.threads)
        ]
        runners += [
            threading.Thread(target=self._run_thread, args=(True,), name=f"task-lane-{index}")
            for index in range(self.lanes)
        ]
        for runner in runners:
            runner.start()
        try:
            for runner in runners:
                while runner.is_alive():
                    runner.join(0.5)  # short joins keep the main thread free to take signals
        finally:
            # Also on the signal handler's SystemExit: the heartbeat says the worker is gone.
            self.stop()
            beating.join(heartbeat.BEAT_SECONDS)
        if self.failure is not None:
            raise self.failure

    # --- The heartbeat --------------------------------------------------------------------

    def _beat(self):
        """Says every BEAT_SECONDS that this worker is alive and which queues it takes, for
        /healthz and the dashboard; when the worker stops, that it takes nothing any more."""
        while not self._stopping.is_set():
            try:
                heartbeat.beat(self.worker_id, self.queues_taken(), self.threads, self.started_at)
            except Exception as error:
                if not is_connection_lost(error):
                    logger.exception("Could not record the worker's heartbeat")
                self.outage.report(error)  # and the next beat tries again
            else:
                self.outage.over()
            finally:
                close_old_connections()
            self._stopping.wait(heartbeat.BEAT_SECONDS)
        try:
            heartbeat.forget(self.worker_id)
        except Exception as error:
            if not is_connection_lost(error):
                logger.exception("Could not remove the worker's heartbeat")
            # Else the database is away: the heartbeat goes silent, and expires.
        finally:
            connections.close_all()

    # --- The runner threads ---------------------------------------------------------------

    def _run_thread(self, lane=False):
        """Claim and run jobs until the worker stops; in the `lane`, only jobs of
        LANE_PRIORITY or more, woken by its own bell."""
        spread, bell = False, self.lane_bell if lane else self.doorbell
        try:
            while self.running:
                try:
                    if lane:
                        found = self._run_urgent(spread)
                    else:
                        found = self._run_one(spread, ANY_PRIORITY)
                except Exception as error:
                    if not is_connection_lost(error):
                        raise
                    self.outage.wait_until_back(error, self.alias, stopping=self._stopping)
                    continue
                if found:
                    continue  # look for the next one at once, as their worker does
                if self.batch:
                    return
                spread = bell.wait(IDLE_WAIT_SECONDS)
        except BaseException as error:
            # A thread that fails otherwise stops the worker, as their single-threaded loop
            # does, so a supervisor restarts it: no silent half-worker.
            logger.exception("Task runner %s stopped; stopping the worker", threading.current_thread().name)
            self.failure = self.failure or error
            self.stop()
        finally:
            connections.close_all()  # this thread's connections

    def _run_urgent(self, spread):
        """The lane's turn: claim and run one job of LANE_PRIORITY or more while the
        process's other threads give way (priority.py)."""
        with priority.urgent():
            return self._run_one(spread, LANE_PRIORITY)

    def _run_one(self, spread=False, min_priority=ANY_PRIORITY):
        """Claim and run one task of `min_priority` or more; False when none is ready. With
        `spread` (woken by a poll, not by a notification), a found task means others may wait
        that nobody announced: wake one more thread to look, and it does the same."""
        close_old_connections()
        task_result = self._claim(min_priority)
        if task_result is None:
            return False
        if spread and min_priority == ANY_PRIORITY:
            self.doorbell.ring(spread=True)
        with self._count_lock:
            self.tasks_running += 1
        try:
            batching = self._batching(task_result)
            if batching is None:
                self.run_task(task_result)
                ran = 1
            else:
                ran = self.run_batch(task_result, batching, min_priority)
        finally:
            close_old_connections()
            with self._count_lock:
                self.tasks_running -= 1
        with self._count_lock:
            self._finished_tasks += ran
            if self.max_tasks is not None and self._finished_tasks >= self.max_tasks:
                logger.info(
                    "Ran the maximum of %d tasks on worker=%s - exiting gracefully.",
                    self._finished_tasks,
                    self.worker_id,
                )
                self.stop()
        return True

    def run_task(self, db_task_result):
        """Run a claimed task and record how it ended, as their worker does, whatever the
        database does meanwhile: the record waits for the database to answer. A task that
        its database outage cut off goes back to the queue instead (the module says why),
        up to MAX_CLAIMS runs."""
        try:
            task = db_task_result.task
            task_result = db_task_result.task_result
            task_started.send(sender=type(task.get_backend()), task_result=task_result)
            arguments = [TaskContext(task_result=task_result)] if task.takes_context else []
            return_value = task.call(*arguments, *task_result.args, **task_result.kwargs)
        except BaseException as error:
            if is_connection_lost(error) and len(db_task_result.worker_ids) < MAX_CLAIMS:
                self._despite_outage(self._hand_back, db_task_result)
                logger.warning("Task id=%s was cut off by the database outage: it runs again", db_task_result.id)
                return
            if not self._record(db_task_result, db_task_result.set_failed, error):
                return
        else:
            try:
                if not self._record(db_task_result, db_task_result.set_successful, return_value):
                    return
            except Exception as error:  # the return value does not fit in JSON, say
                if not self._record(db_task_result, db_task_result.set_failed, error):
                    return
        self._announce_finished(db_task_result)

    # --- Batches (whatsapp/jobs/batches.py) ------------------------------------------------

    def _batching(self, db_task_result):
        if connections[self.alias].vendor != "postgresql":
            return None  # SQLite (the embedded demo): one job at a time
        try:
            task_path = db_task_result.task.module_path  # importing the task registers its batching
        except (ImportError, SuspiciousOperation):
            return None  # run_task records why the task cannot run
        return batches.batching_for(task_path)

    def run_batch(self, first, batching, min_priority=ANY_PRIORITY):
        """Claim up to the batch's size of `first`'s task's ready jobs (of `min_priority` or
        more), run them together and record their end in one statement; returns how many
        jobs ran. A batch that fails is run again job by job (each records its own end); one
        that its database outage cut off goes back to the queue."""
        jobs = [(first.pk, first.args_kwargs)] + self._claim_batch(first, batching, min_priority)
        try:
            batching.run([arguments.get("args", []) for _pk, arguments in jobs])
        except Exception as error:
            job_ids = [pk for pk, _arguments in jobs]
            if is_connection_lost(error) and len(first.worker_ids) < MAX_CLAIMS:
                self._despite_outage(self._hand_back_all, job_ids)
                logger.warning("A batch of %d jobs was cut off by the database outage: it runs again", len(jobs))
                return len(jobs)
            logger.exception("A batch of %d jobs failed; running them one by one", len(jobs))
            for job in DBTaskResult.objects.filter(pk__in=job_ids, status=TaskResultStatus.RUNNING):
                self.run_task(job)
            return len(jobs)
        self._despite_outage(self._finish_batch, [pk for pk, _arguments in jobs])
        return len(jobs)

    BATCH_CLAIM_SQL = """
        WITH waiting AS (
            SELECT id, priority, run_after, enqueued_at, ({group}) AS turn_group
            FROM {table}
            WHERE status = 'READY' AND queue_name = %(queue)s AND backend_name = %(backend)s
              AND task_path = %(task_path)s AND (run_after = %(never)s OR run_after <= now())
              AND priority >= %(min_priority)s
            ORDER BY priority DESC, run_after, enqueued_at
            LIMIT %(window)s
        ), in_turn AS (
            SELECT id, priority, run_after, enqueued_at,
                   row_number() OVER (PARTITION BY turn_group ORDER BY priority DESC, run_after, enqueued_at) AS turn
            FROM waiting
            ORDER BY priority DESC, turn, run_after, enqueued_at
        ), taken AS (
            SELECT job.id FROM in_turn CROSS JOIN LATERAL (
                SELECT id, status FROM {table} WHERE id = in_turn.id LIMIT 1 FOR UPDATE SKIP LOCKED
            ) job
            WHERE job.status = 'READY'
            LIMIT %(size)s
        )
        UPDATE {table} job SET status = 'RUNNING', started_at = now(), worker_ids = job.worker_ids || %(worker)s::jsonb
        FROM taken WHERE job.id = taken.id
        RETURNING job.id, job.args_kwargs
    """
    # How many of the oldest ready jobs a batch's claim looks at to take groups in turn.
    BATCH_WINDOW = 2000
    # Each candidate, in turn order, is locked through its primary key (the LATERAL with LIMIT 1,
    # which no plan can turn around) until the batch is full. Joined to the candidates as a
    # table, the jobs' rows were planned by the table's statistics: after a burst that
    # autovacuum had not counted yet (on a big table, a burst of 10% of it is never counted),
    # they said no job was ready, and the plan compared every ready job with every candidate:
    # 4,744 x 2,000 rows, 7-11 s a claim, 30 ms of PostgreSQL's CPU a drained event. Now ~20 ms.

    def _claim_batch(self, first, batching, min_priority=ANY_PRIORITY):
        """Up to size - 1 more ready jobs of `first`'s task and queue, marked running by this
        worker: the highest priority first, then each group's oldest in turn, so one group's
        burst shares the batch with the others' jobs. Locks only the rows it takes, skipping
        those another worker is taking."""
        if batching.size <= 1:
            return []
        sql = self.BATCH_CLAIM_SQL.format(group=batching.group_sql, table=DBTaskResult._meta.db_table)
        with connections[self.alias].cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "queue": first.queue_name,
                    "backend": first.backend_name,
                    "task_path": first.task_path,
                    "never": get_date_max(),
                    "window": self.BATCH_WINDOW,
                    "size": batching.size - 1,
                    "min_priority": min_priority,
                    "worker": json.dumps([self.worker_id]),
                },
            )
            rows = cursor.fetchall()
        return [(pk, arguments if isinstance(arguments, dict) else json.loads(arguments)) for pk, arguments in rows]

    @staticmethod
    def _finish_batch(job_ids):
        DBTaskResult.objects.filter(pk__in=job_ids, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.SUCCESSFUL,
            finished_at=timezone.now(),
            return_value=None,
            exception_class_path="",
            traceback="",
        )

    @staticmethod
    def _hand_back_all(job_ids):
        DBTaskResult.objects.filter(pk__in=job_ids, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None
        )

    def _record(self, db_task_result, write, *arguments):
        """Record how the task ended; False when its row is gone (deleted while it ran, by a
        purge or by hand): nothing is left to record, and the worker carries on."""
        try:
            self._despite_outage(write, *arguments)
        except DatabaseError as error:
            if DBTaskResult.objects.filter(pk=db_task_result.pk).exists():
                raise
            logger.warning("Task id=%s ended after its row was deleted: %s", db_task_result.id, error)
            return False
        return True

    def _despite_outage(self, write, *arguments):
        """Call `write(*arguments)` (to the task's row) until the database takes it, however
        long that is: a claim left running would be taken for abandoned, and its task run again."""
        while True:
            try:
                return write(*arguments)
            except Exception as error:
                if not is_connection_lost(error):
                    raise
                self.outage.wait_until_back(error, self.alias)

    @staticmethod
    def _hand_back(db_task_result):
        DBTaskResult.objects.filter(pk=db_task_result.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None
        )

    @staticmethod
    def _announce_finished(db_task_result):
        try:
            sender = type(db_task_result.task.get_backend())
            task_result = db_task_result.task_result
        except (ImportError, SuspiciousOperation):
            logger.exception("Task id=%s failed unexpectedly", db_task_result.id)
        else:
            task_finished.send(sender=sender, task_result=task_result)

    # The next ready job, marked running, in one statement: what their worker's claim does
    # with the ORM in a transaction of two queries, whose building alone cost ~3 ms of CPU a
    # claim, once per batch and per poll (bench/).
    CLAIM_SQL = """
        WITH next AS (
            SELECT id FROM {table}
            WHERE status = 'READY' AND backend_name = %(backend)s {queues}
              AND (run_after = %(never)s OR run_after <= %(now)s) AND priority >= %(min_priority)s
            ORDER BY priority DESC, run_after, enqueued_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        )
        UPDATE {table} job SET status = 'RUNNING', started_at = now(), worker_ids = job.worker_ids || %(worker)s::jsonb
        FROM next WHERE job.id = next.id
        RETURNING job.*
    """

    def _claim(self, min_priority=ANY_PRIORITY):
        """The next ready task of `min_priority` or more, marked running by this worker; None
        when there is none."""
        if connections[self.alias].vendor == "postgresql":
            return self._claim_in_one_statement(min_priority)
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name, priority__gte=min_priority)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        try:
            with exclusive_transaction(tasks.db):
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
        except OperationalError as error:
            if not is_locked_database_exception(error):  # SQLite's writer lock: try again later
                raise
            return None
        return task_result

    def _claim_in_one_statement(self, min_priority):
        queues = ""
        if not self.process_all_queues:
            queues += " AND queue_name = ANY(%(queues)s)"
        if self.excluded_queue_names:
            queues += " AND NOT queue_name = ANY(%(excluded)s)"
        sql = self.CLAIM_SQL.format(table=DBTaskResult._meta.db_table, queues=queues)
        params = {
            "backend": self.backend_name,
            "queues": list(self.queue_names),
            "excluded": list(self.excluded_queue_names),
            "never": get_date_max(),
            "worker": json.dumps([self.worker_id]),
            "min_priority": min_priority,
            # The clock's time, as their ORM claim compares: now() is the transaction's start.
            "now": timezone.now(),
        }
        return next(iter(DBTaskResult.objects.using(self.alias).raw(sql, params)), None)

    # --- The doorbell ---------------------------------------------------------------------

    def _ring_doorbell(self):
        """Runs for the life of the process: on PostgreSQL it rings for each notification and
        once every interval; without NOTIFY, or while the listener is down, every interval."""
        interval = max(self.interval, 0.01)
        if connections[self.alias].vendor != "postgresql":
            while True:
                time.sleep(interval)
                self._ring(spread=True)
        self._backoff = FIRST_WAIT_SECONDS
        while True:
            try:
                self._listen(interval)
            except Exception as error:
                if is_connection_lost(error):
                    self.outage.report(error)
                else:
                    logger.exception("Lost the task notification listener; polling every %s s meanwhile", interval)
            self._poll_for(self._backoff, interval)
            self._backoff = min(self._backoff * 2, LONGEST_WAIT_SECONDS)

    def _poll_for(self, seconds, interval):
        """The listener's backoff: `seconds` without it, ringing every interval meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            time.sleep(max(0, min(interval, deadline - time.monotonic())))
            self._ring(spread=True)
            if time.monotonic() >= deadline:
                return

    def _listen(self, interval):
        params = connections[self.alias].get_connection_params()
        with psycopg.connect(**params, autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANNEL}")
            logger.info("Listening for task notifications on %r", CHANNEL)
            self.outage.over()
            self._backoff = FIRST_WAIT_SECONDS
            self._ring(spread=True)  # whatever was enqueued before we listened
            while True:
                for notification in listener.notifies(timeout=interval):
                    queue_name, _id, priority = (notification.payload.split(":") + ["", "0"])[:3]
                    if self._wants(queue_name):
                        self.doorbell.ring()
                        if self.lanes and priority.lstrip("-").isdigit() and int(priority) >= LANE_PRIORITY:
                            self.lane_bell.ring()
                # The poll: tasks whose run_after has passed, or a lost notification.
                self._ring(spread=True)

    def _ring(self, times=1, spread=False):
        """A ring for every thread: the poll's, or a job for later whose time came."""
        self.doorbell.ring(times, spread=spread)
        if self.lanes:
            self.lane_bell.ring()

    def _wants(self, queue_name):
        if queue_name in self.excluded_queue_names:
            return False
        return self.process_all_queues or queue_name in self.queue_names
