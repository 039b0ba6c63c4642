"""A worker's view of its database going away (a restart, a failover, the network) and coming
back: which errors say so, and what the worker's threads share while it lasts.

Each thread that loses the database waits for it on its own, trying again with backoff; the
first to lose it logs it, and the first to reach it again logs that, so one outage is two
lines in the log however many threads saw it."""

import logging
import threading
import time

import psycopg
from django.db import DatabaseError, connections
from django.db.utils import InterfaceError

logger = logging.getLogger("django_tasks_db")

FIRST_WAIT_SECONDS = 0.5
LONGEST_WAIT_SECONDS = 10
# A thread may still hold an error from an outage that another thread already saw end: an
# error this soon after the end is the same outage, not a new one to announce.
SAME_OUTAGE_SECONDS = 10
# The server is shutting down, crashed, or starting up and not taking connections yet.
SERVER_GONE_STATES = {"57P01", "57P02", "57P03"}


def is_connection_lost(error):
    """Whether `error`, or an error that caused it, says the connection to the database is
    gone (refused, dropped, closed, or ended by the server going down), not that the
    database refused a statement."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, psycopg.InterfaceError | InterfaceError):
            return True
        if isinstance(error, psycopg.OperationalError):
            # Errors raised by the client itself (connection refused or closed) have no state.
            state = error.sqlstate
            return state is None or state.startswith("08") or state in SERVER_GONE_STATES
        error = error.__cause__ or error.__context__
    return False


def database_answers(alias):
    """Whether this thread reaches the database now, on a fresh connection."""
    close_connections()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        close_connections()
        return False
    return True


def close_connections():
    """Close this thread's database connections, broken ones included."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DatabaseError:
            pass


class Outage:
    """What a worker's threads know together about the database being unreachable."""

    def __init__(self):
        self._lock = threading.Lock()
        self._began = None  # time.monotonic() when the current outage was first seen
        self._ended = None  # … when the last one was seen to end
        self._announced = False

    def report(self, error):
        """A thread lost the database; the first report of an outage logs it."""
        with self._lock:
            if self._began is not None:
                return
            now = time.monotonic()
            self._began = now
            self._announced = self._ended is None or now - self._ended > SAME_OUTAGE_SECONDS
            if self._announced:
                logger.warning(
                    "Lost the database (%s); tasks wait, and each thread tries again with backoff", _describe(error)
                )

    def over(self):
        """A thread reached the database: if it had been lost, log that it is back."""
        with self._lock:
            if self._began is None:
                return
            if self._announced:
                logger.warning("The database answers again after %.1f s; carrying on", time.monotonic() - self._began)
            self._began, self._ended = None, time.monotonic()

    def wait_until_back(self, error, alias, stopping=None):
        """Report `error`, then block until this thread reaches the database (True), or until
        the `stopping` event is set (False)."""
        self.report(error)
        delay = FIRST_WAIT_SECONDS
        while not database_answers(alias):
            if stopping is not None and stopping.wait(delay):
                return False
            if stopping is None:
                time.sleep(delay)
            delay = min(delay * 2, LONGEST_WAIT_SECONDS)
        self.over()
        return True


def _describe(error):
    """The error in one line: its class and first line (psycopg's cause, when Django's wraps it)."""
    cause = error.__cause__ if isinstance(error.__cause__, psycopg.Error) else error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line}"
