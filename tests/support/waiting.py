"""Waiting for something to happen: poll a condition until it holds or a deadline passes,
never a fixed sleep that hopes the other process was quick enough."""

import time

POLL_SECONDS = 0.05


class WaitTimeout(AssertionError):
    """The condition did not hold in time; the message says what was awaited."""


def wait_until(condition, timeout=10, message=None, interval=POLL_SECONDS):
    """Call `condition` until it returns something true, and return that. After `timeout`
    seconds raise WaitTimeout with `message`: a string, or a callable that gives one (to show
    state only gathered on failure, such as the servers' logs)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise WaitTimeout(f"{text or 'The condition did not hold'} (waited {timeout} s)")
        time.sleep(interval)  # the poll interval: between two looks at the condition
    return result


def wait_for(condition, seconds):
    """The condition's first true value within `seconds`, else its last value, for
    `assert wait_for(…), what_to_show`: wait_until's deadline, without raising."""
    try:
        return wait_until(condition, timeout=seconds)
    except WaitTimeout:
        return condition()
