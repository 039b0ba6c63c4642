"""Meta's throughput limit per business number (80 messages a second by default, up to
1,000), shared by every worker on every machine through Redis. Without Redis the inbox runs
as one process, and a lock in that process is enough.

Meta counts what reaches it in each second, and a request reaches it some time after it
leaves (its network, a worker busy elsewhere), so a limit kept per clock second where sends
are claimed lets a second's late sends land in the next one, on top of that second's own.
Two counts keep every second under the setting wherever it falls:
- places (book): each send is booked a place in time. Places come in groups (`burst`: a
  twentieth of the setting, at least one), spaced so that no window of WINDOW_SECONDS holds
  more than the setting (at 80/s, 4 places every 52.5 ms); a send whose place is later
  waits as a job until then. A group's sends are due together, so one claim takes them all:
  one by one, each would need a claim of its own, and a worker's threads, each waiting for
  Meta's answer to its claim's sends, fell behind a busy number's places;
- departures (depart): a send leaves only if fewer than the setting left in the last
  WINDOW_SECONDS (a second, and a margin for the way to Meta), counted as they leave, after
  their claim committed. One that came late to its place and would crowd those on time is
  booked a fresh place instead.
"""

import math
import threading
import time

from django.conf import settings

_local_lock = threading.Lock()
_local_numbers = {}
_redis = None

# How far ahead places are booked: sends beyond it wait and book again when their turn nears.
HORIZON_SECONDS = 60
# What any second at Meta may see is counted over this window where sends leave: the margin
# covers the difference in the way to Meta between one send and another, the batch's
# departure on the sending threads included (a few sends a millisecond). A wider margin costs
# rate: a busy number holds the setting / WINDOW_SECONDS (76.2/s at 80/s).
WINDOW_SECONDS = 1.05


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


def pacing(per_second):
    """(burst, spacing in microseconds): places come in groups of `burst` at most, a group
    every `spacing` at most, so that no window of WINDOW_SECONDS holds more than `per_second`
    of them (it holds at most per_second // burst groups)."""
    burst = max(1, per_second // 20)
    return burst, math.ceil(WINDOW_SECONDS * 1_000_000 / (per_second // burst))


# KEYS: the number's latest group of places (a hash: its time in µs, and how many places it
# holds) and its departures (a sorted set, by µs).
# ARGV: per_second, burst, spacing µs, window µs, horizon µs, now µs, "book" or "depart",
# then a name for each send. Returns, per send: 0 when it goes now, else its booked place
# (µs), or -1 beyond the horizon. A place joins the latest group while it has room, until a
# spacing after the group's time (a send that comes then goes at once, as on a quiet
# number), else starts a group a spacing after it. Departing, a send goes while the window
# has room (and counts as left), else it is booked a place once the window's oldest
# departure has left it.
PLACES_SCRIPT = """
local per_second, burst, spacing = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, horizon, now = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local departing = ARGV[7] == 'depart'
local latest = redis.call('HMGET', KEYS[1], 'at', 'places')
local group_at, places = tonumber(latest[1] or '0'), tonumber(latest[2] or '0')
local room = 0
if departing then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
    room = per_second - redis.call('ZCARD', KEYS[2])
end
local answers = {}
for index = 8, #ARGV do
    if departing and room > 0 then
        redis.call('ZADD', KEYS[2], now, ARGV[index] .. ':' .. string.format('%d', now))
        room = room - 1
        answers[#answers + 1] = 0
    else
        local not_before = now
        if departing then
            local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
            not_before = tonumber(oldest[2]) + window + 1
        end
        local joins = places < burst and group_at + spacing > not_before
        local place = joins and math.max(group_at, not_before) or math.max(not_before, group_at + spacing)
        if place > now + horizon then
            answers[#answers + 1] = -1
        else
            if joins then
                places = places + 1
            else
                group_at, places = place, 1
            end
            answers[#answers + 1] = place > now and place or 0
        end
    end
end
redis.call('HSET', KEYS[1], 'at', string.format('%d', group_at), 'places', places)
redis.call('PEXPIRE', KEYS[1], math.floor((horizon + window) / 1000))
if departing then
    redis.call('PEXPIRE', KEYS[2], math.floor(window / 1000) + 1000)
end
return answers
"""


def book(phone_number_id, per_second, names, now=None):
    """Places for sends to this number that have none (`names`: a unique string for each,
    such as its message id), in order: None for each that may go now, else its place (a
    time.time() value) to wait for as a job, or math.inf when the booking horizon is full."""
    return _places("book", phone_number_id, per_second, names, now)


def depart(phone_number_id, per_second, names, now=None):
    """For sends to this number about to leave (their place has come), in order: None for
    each that may leave now (it counts as left), else a fresh place, as book() gives: the
    last WINDOW_SECONDS saw the setting's worth leave (sends that came late to their places
    and crowd those on time, say)."""
    return _places("depart", phone_number_id, per_second, names, now)


def _places(mode, phone_number_id, per_second, names, now):
    now_us = int((time.time() if now is None else now) * 1_000_000)
    burst, spacing = pacing(per_second)
    arguments = [per_second, burst, spacing, int(WINDOW_SECONDS * 1_000_000), HORIZON_SECONDS * 1_000_000, now_us]
    if settings.REDIS_URL:
        keys = [f"throttle:{phone_number_id}:group", f"throttle:{phone_number_id}:left"]
        answers = _places_script()(keys=keys, args=[*arguments, mode, *[str(name) for name in names]])
    else:
        answers = _local_places(phone_number_id, *arguments, mode == "depart", len(names))
    return [None if answer == 0 else math.inf if answer == -1 else int(answer) / 1_000_000 for answer in answers]


def _local_places(phone_number_id, per_second, burst, spacing, window, horizon, now, departing, count):
    """PLACES_SCRIPT in this process."""
    with _local_lock:
        (group_at, places), left = _local_numbers.get(phone_number_id, ((0, 0), []))
        left = [at for at in left if at > now - window]
        answers = []
        for _ in range(count):
            if departing and len(left) < per_second:
                left.append(now)
                answers.append(0)
                continue
            not_before = left[0] + window + 1 if departing else now
            joins = places < burst and group_at + spacing > not_before
            place = max(group_at, not_before) if joins else max(not_before, group_at + spacing)
            if place > now + horizon:
                answers.append(-1)
                continue
            group_at, places = (group_at, places + 1) if joins else (place, 1)
            answers.append(place if place > now else 0)
        _local_numbers[phone_number_id] = ((group_at, places), left)
    return answers


_scripts = {}


def _places_script():
    with _local_lock:
        if "places" not in _scripts:
            _scripts["places"] = _redis_client_unlocked().register_script(PLACES_SCRIPT)
        return _scripts["places"]
