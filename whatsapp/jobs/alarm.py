"""Wakes a worker when a job's run_after comes, instead of at its next poll (up to
--interval later): a send booked a place in its number's throughput (whatsapp/cloud/
throttle.py) should leave at that place, not together with the places after it.

A worker process listens (whatsapp/jobs/worker.py); code that enqueues a job for later in
that process sets the alarm for it. Jobs enqueued elsewhere are found by the poll, as ever.
"""

import heapq
import threading
import time

# Alarms this close together ring once: one claim takes every job that is due.
MERGE_SECONDS = 0.002

_changed = threading.Condition()
_times = []
_listener = {"ring": None}


def listen(ring):
    """Call `ring()` at every time set from now on (from a thread of its own)."""
    with _changed:
        if _listener["ring"] is None:
            threading.Thread(target=_ring_when_due, name="task-alarm", daemon=True).start()
        _listener["ring"] = ring


def ring_at(when):
    """Wake a worker of this process at `when` (a time.time() value), if one listens."""
    with _changed:
        if _listener["ring"] is None:
            return
        heapq.heappush(_times, when)
        _changed.notify()


def _ring_when_due():
    while True:
        with _changed:
            while not _times or _times[0] > time.time():
                _changed.wait(_times[0] - time.time() if _times else None)
            while _times and _times[0] <= time.time() + MERGE_SECONDS:
                heapq.heappop(_times)
            ring = _listener["ring"]
        ring()
