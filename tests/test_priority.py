"""Urgent work first in a worker process (whatsapp/jobs/priority.py): while the lane's thread
runs a customer's message, the other threads wait at their pause points, for a bounded time,
and a flood of urgent work never stops them."""

import threading
import time
from contextlib import contextmanager

from whatsapp.jobs import priority


def in_thread(function):
    """Run `function` in a thread of its own; returns (thread, its result holder)."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()))
    thread.start()
    return thread, result


def timed_give_way():
    started = time.monotonic()
    priority.give_way()
    return time.monotonic() - started


def test_nothing_urgent_means_no_wait():
    assert timed_give_way() < 0.01


@contextmanager
def urgent_elsewhere():
    """Urgent work running in another thread until the block ends."""
    entered, leave = threading.Event(), threading.Event()

    def urgent_work():
        with priority.urgent():
            entered.set()
            leave.wait(5)

    lane, _ = in_thread(urgent_work)
    entered.wait(5)
    try:
        yield leave
    finally:
        leave.set()
        lane.join(5)


def test_a_thread_waits_while_urgent_work_runs_elsewhere_and_goes_on_when_it_ends():
    with urgent_elsewhere() as leave:
        waiting, waited = in_thread(timed_give_way)
        time.sleep(0.02)  # the time under test: 20 ms into the urgent work, it still waits
        assert waiting.is_alive()  # it gives way
        leave.set()
        waiting.join(5)
    assert 0.015 < waited["value"] < priority.GIVE_WAY_MAX_SECONDS + 0.02


def test_the_wait_is_bounded_and_then_the_thread_runs_free_for_a_while():
    with urgent_elsewhere():
        waiting, waited = in_thread(lambda: (timed_give_way(), timed_give_way()))
        waiting.join(5)
    first, second = waited["value"]
    assert priority.GIVE_WAY_MAX_SECONDS - 0.005 < first < priority.GIVE_WAY_MAX_SECONDS + 0.05
    assert second < 0.01  # free to run: a flood of urgent work slows it, never stops it


def test_the_urgent_thread_itself_never_waits():
    def urgent_give_way():
        with priority.urgent():
            return timed_give_way()

    thread, waited = in_thread(urgent_give_way)
    thread.join(5)
    assert waited["value"] < 0.01
