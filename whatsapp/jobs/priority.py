"""Urgent work first inside a worker process. While the lane's thread runs a customer's
message (worker.py), the process's other threads give way at their next pause point (between
two statuses of a batch), for GIVE_WAY_MAX_SECONDS at most.

Python runs one thread of a process at a time, so the lane's thread shared the interpreter
with the threads reading statuses. A thread that gives way waits on an event, which lets the
lane's thread run alone. Pause points are where a thread holds no transaction, and the wait is
short either way: the lane's work may need a row that a thread giving way has locked. After a
wait a thread runs free for FREE_RUN_SECONDS, so a flood of customers' messages, which keeps
the lane busy without a break, slows the others' batches by a third at most, never stops them.
"""

import threading
import time
from contextlib import contextmanager

GIVE_WAY_MAX_SECONDS = 0.05
FREE_RUN_SECONDS = 0.1

_this_thread = threading.local()
_lock = threading.Lock()
_running = 0
_clear = threading.Event()
_clear.set()


@contextmanager
def urgent():
    """Run the block as urgent work: the process's other threads give way meanwhile."""
    global _running
    _this_thread.urgent = True
    with _lock:
        _running += 1
        _clear.clear()
    try:
        yield
    finally:
        _this_thread.urgent = False
        with _lock:
            _running -= 1
            if not _running:
                _clear.set()


def give_way():
    """A pause point: wait while urgent work runs in another thread of the process."""
    if _clear.is_set() or getattr(_this_thread, "urgent", False):
        return
    if time.monotonic() < getattr(_this_thread, "free_until", 0.0):
        return
    _clear.wait(GIVE_WAY_MAX_SECONDS)
    _this_thread.free_until = time.monotonic() + FREE_RUN_SECONDS
