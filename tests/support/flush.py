"""Emptying the database after a test that commits (transaction=True), while a live stack's
worker is connected to it: the flush's TRUNCATE takes each table's lock in turn, and a
worker's heartbeat or claim holding another of them can deadlock with it. PostgreSQL then
cancels one side; when that is the flush, the test's rows stay behind for the next test of
the process (seen: a worker counted twice, a contact not purged). The flush is tried again."""

import time

from django.core.management.base import CommandError
from django.db.utils import OperationalError

ATTEMPTS = 5


def flush_despite_deadlocks():
    """Make TransactionTestCase's teardown try its flush again when PostgreSQL picked it as a
    deadlock's victim (nothing of it stayed: the whole flush is one transaction)."""
    from django.test import TransactionTestCase

    flush = TransactionTestCase._fixture_teardown
    if getattr(flush, "despite_deadlocks", False):
        return

    def teardown(self):
        for attempt in range(ATTEMPTS):
            try:
                return flush(self)
            except (CommandError, OperationalError) as error:  # flush wraps the database's error
                if not _deadlock(error) or attempt == ATTEMPTS - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))  # let the worker's statement finish first

    teardown.despite_deadlocks = True
    TransactionTestCase._fixture_teardown = teardown


def _deadlock(error):
    while error is not None:
        if isinstance(error, OperationalError) and "deadlock detected" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False
