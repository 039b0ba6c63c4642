"""Meta's throughput limit per business number (80 messages a second by default, up to
1,000), shared by every worker on every machine through Redis. Without Redis the inbox runs
as one process, and a lock in that process is enough."""

import threading
import time

from django.conf import settings

_local_lock = threading.Lock()
_local_windows = {}
_redis = None


def _redis_client():
    # Under the lock: a worker's threads start at once, and a second client replacing the
    # first would close the connections the first is using (its pool disconnects when freed).
    with _local_lock:
        return _redis_client_unlocked()


def _redis_client_unlocked():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    return _redis


# How far ahead slots are booked: sends beyond it wait and book again when their turn nears.
HORIZON_SECONDS = 60

# Books up to `wanted` slots, filling the current second's free ones, then the next
# seconds', up to the horizon: returns each booked slot as "second:index".
RESERVE_SCRIPT = """
local per_second, wanted, first, horizon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local slots = {}
local second = first
while #slots < wanted and second < first + horizon do
    local key = KEYS[1] .. ':' .. second
    local used = tonumber(redis.call('GET', key) or '0')
    local take = math.min(per_second - used, wanted - #slots)
    if take > 0 then
        redis.call('INCRBY', key, take)
        redis.call('EXPIRE', key, horizon + 5)
        for index = used, used + take - 1 do
            slots[#slots + 1] = second .. ':' .. index
        end
    end
    second = second + 1
end
return slots
"""


def reserve_slots(phone_number_id, per_second, wanted, now=None):
    """Book `wanted` sends for this number, in order, at most `per_second` in any second
    (counted in Redis for every worker): a list of (second, index) per booked send, the
    current second's first, then later seconds' up to HORIZON_SECONDS; fewer than `wanted`
    when the horizon is full. A send booked for a later second waits as a job until its
    place in that second, index / per_second after its start, so a second's sends are spread
    over it rather than sent at its start."""
    first = int(time.time() if now is None else now)
    if settings.REDIS_URL:
        script = _reserve_script()
        booked = script(keys=[f"throttle:{phone_number_id}"], args=[per_second, wanted, first, HORIZON_SECONDS])
        return [tuple(int(part) for part in slot.decode().split(":")) for slot in booked]
    slots = []
    with _local_lock:
        if len(_local_windows) > 1000:  # old seconds: forget them
            for key in [key for key in _local_windows if key[1] < first]:
                del _local_windows[key]
        for second in range(first, first + HORIZON_SECONDS):
            used = _local_windows.get((phone_number_id, second), 0)
            take = min(per_second - used, wanted - len(slots))
            if take > 0:
                _local_windows[(phone_number_id, second)] = used + take
                slots += [(second, index) for index in range(used, used + take)]
            if len(slots) >= wanted:
                break
    return slots


_scripts = {}


def _reserve_script():
    with _local_lock:
        if "reserve" not in _scripts:
            _scripts["reserve"] = _redis_client_unlocked().register_script(RESERVE_SCRIPT)
        return _scripts["reserve"]


def take_slot(phone_number_id, per_second, now=None):
    """Claim one send in the current second for this number. Returns 0 when it may go now,
    else the seconds to wait before asking again (nothing is booked then)."""
    now = time.time() if now is None else now
    booked = reserve_slots(phone_number_id, per_second, 1, now)
    if booked and booked[0][0] == int(now):
        return 0
    if booked:
        _give_back(phone_number_id, booked[0][0])
    return (int(now) + 1) - now


def _give_back(phone_number_id, second):
    if settings.REDIS_URL:
        _redis_client().decr(f"throttle:{phone_number_id}:{second}")
    else:
        with _local_lock:
            _local_windows[(phone_number_id, second)] -= 1
