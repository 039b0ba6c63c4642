"""How fast the team answers and resolves, in total and per member.

A **reply** is a message in the thread written by a member of the team in the inbox
(outbound, with an author) that did not fail. Automated messages (no author) neither answer
a customer nor end their wait; a failed reply never reached them.

A customer **waits** from a message that follows a reply, or is the first of its
conversation, until the next reply. Messages they add before that reply extend the same
wait. Messages are ordered by (timestamp, id).

The **first response time** of a wait is: the reply's timestamp - the timestamp of the
message that started the wait. The period's figures cover the waits that *started* in the
period (their reply may come later); waits with no reply yet are counted as unanswered and
left out of the median and 90th percentile. Each wait is credited to the member whose reply
ended it.

The **resolution time** is resolved_at - opened_at of each ConversationResolution resolved
in the period (see whatsapp.resolutions): from the customer's first message after the
previous resolution to the resolution.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, When

from tenants.models import Membership, Role
from whatsapp.models import ConversationResolution, Message, MessageStatus

from .metrics import IN, NOT_IN_THREAD, OUT, thread_messages
from .models import ResponseWait, StaleConversation
from .percentiles import Stats, sql_of, summarize

REPLY = Q(direction=OUT, author__isnull=False) & ~Q(status=MessageStatus.FAILED)


# The waits, in one pass over the period's messages and replies, numbered per conversation
# by how many replies came before each (its "turn"): a turn's customer messages and the
# reply that ends it share that number. Per conversation, two index probes at most look past
# the period: did a wait start before it (then its first turn is not the period's), and which
# reply, after it, ended a wait that was still open at its end.
WAITS_SQL = """
WITH relevant AS ({relevant}),
turns AS (
    SELECT conv, ts, replier_id, is_in,
           SUM(1 - is_in) OVER (PARTITION BY conv ORDER BY ts, id ROWS UNBOUNDED PRECEDING) - (1 - is_in) AS turn
    FROM relevant
),
waits AS (
    SELECT conv, turn,
           MIN(CASE WHEN is_in = 1 THEN ts END) AS started,
           MIN(CASE WHEN is_in = 0 THEN ts END) AS replied,
           MAX(CASE WHEN is_in = 0 THEN replier_id END) AS replier
    FROM turns GROUP BY conv, turn
)
SELECT started,
       COALESCE(replied, ({next_reply_time})) AS ended,
       COALESCE(replier, ({next_reply_author})) AS grp
FROM waits
WHERE started IS NOT NULL AND (turn > 0 OR COALESCE(({previous_is_in}), 0) = 0)
"""
# Both probes read only the message_waits index: their WHERE repeats its condition exactly.
_PROBE = """SELECT {column} FROM {table} p
    WHERE p.conversation_id = waits.conv AND p.timestamp {bound} %s
      AND NOT (p.type IN ({not_in_thread}))
      AND (p.direction = %s OR (p.author_id IS NOT NULL AND p.direction = %s AND NOT (p.status = %s))) {which}
    ORDER BY p.timestamp {order}, p.id {order} LIMIT 1"""


def waits(tenant, period, using="default"):
    """SQL and parameters giving one row per wait that started in the period: started,
    ended (the reply's timestamp, or NULL), grp (the replying member's user id, or NULL).

    On PostgreSQL the waits are recorded (dashboard.models.ResponseWait); only those of
    conversations changed since the maintenance job last counted them are computed here.
    SQLite has no recorded waits: all are computed."""
    if connections[using].vendor != "postgresql":
        return computed_waits(tenant, period, using)
    # The marked conversations are read first, as a list: the planner then knows how many
    # there are (usually none or a few). From a subquery it could only guess, and a guess of
    # a few thousand, times the messages of a long range, priced the query past
    # jit_above_cost: 50-150 ms of JIT compiling for a query that reads almost nothing.
    stale = list(StaleConversation.objects.filter(tenant_id=tenant.pk).values_list("conversation_id", flat=True))
    recorded = (
        ResponseWait.objects.filter(tenant=tenant, started_at__gte=period.start, started_at__lt=period.end)
        .values(started=F("started_at"), ended=F("replied_at"), grp=F("replied_by"))
        .order_by()
    )
    if not stale:
        return sql_of(recorded)
    recorded_sql, recorded_params = sql_of(recorded.exclude(conversation__in=stale))
    computed_sql, computed_params = computed_waits(tenant, period, using, conversations=stale)
    return f"({recorded_sql}) UNION ALL ({computed_sql})", [*recorded_params, *computed_params]


def computed_waits(tenant, period, using="default", conversations=None):
    """waits(), computed from the messages of the period (of `conversations` only, a list
    of conversation ids, if given)."""
    relevant = thread_messages(tenant, period)
    if conversations is not None:
        relevant = relevant.filter(conversation__in=conversations)
    relevant = (
        relevant.filter(Q(direction=IN) | REPLY)
        .values(
            "id",
            conv=F("conversation_id"),
            ts=F("timestamp"),
            replier_id=F("author_id"),
            is_in=Case(When(direction=IN, then=1), default=0),
        )
        .order_by()
    )
    relevant_sql, relevant_params = sql_of(relevant)
    operations = connections[using].ops
    start, end = (operations.adapt_datetimefield_value(moment) for moment in (period.start, period.end))
    probe = {"table": Message._meta.db_table, "not_in_thread": ", ".join(["%s"] * len(NOT_IN_THREAD))}
    reply = {**probe, "bound": ">=", "order": "ASC", "which": "AND p.direction = %s"}
    previous = {
        **probe,
        "bound": "<",
        "order": "DESC",
        "which": "",
        "column": "CASE WHEN p.direction = %s THEN 1 ELSE 0 END",
    }
    sql = WAITS_SQL.format(
        relevant=relevant_sql,
        next_reply_time=_PROBE.format(column="p.timestamp", **reply),
        next_reply_author=_PROBE.format(column="p.author_id", **reply),
        previous_is_in=_PROBE.format(**previous),
    )
    condition = [*NOT_IN_THREAD, IN, OUT, MessageStatus.FAILED]
    reply_params = [end, *condition, OUT]
    previous_params = [IN, start, *condition]
    return sql, [*relevant_params, *reply_params, *reply_params, *previous_params]


def resolutions(tenant, period):
    """SQL and parameters giving one row per resolution in the period: started (opened_at),
    ended (resolved_at), grp (resolved_by)."""
    return sql_of(
        ConversationResolution.objects.filter(tenant=tenant, resolved_at__gte=period.start, resolved_at__lt=period.end)
        .values(started=F("opened_at"), ended=F("resolved_at"), grp=F("resolved_by"))
        .order_by()
    )


@dataclass
class Timing:
    responses: Stats
    resolutions: Stats
    responses_by_user: dict
    resolutions_by_user: dict


def team_timing(tenant, period):
    responses, responses_by_user = summarize(*waits(tenant, period), grouped=True)
    resolved, resolutions_by_user = summarize(*resolutions(tenant, period), grouped=True)
    return Timing(responses, resolved, responses_by_user, resolutions_by_user)


@dataclass
class AgentRow:
    user: object
    role: str
    replies: int = 0  # messages written in the period, failed ones included
    conversations: int = 0  # conversations they wrote in
    responses: Stats = None  # the waits their replies ended
    resolved: int = 0


def agent_table(tenant, period, timing):
    """A row per member of the tenant, and per former member with activity in the period;
    the busiest first."""
    activity = {
        row["author"]: row
        for row in thread_messages(tenant, period)
        .filter(direction=OUT, author__isnull=False)
        .values("author")
        .annotate(replies=Count("pk"), conversations=Count("conversation", distinct=True))
        .order_by()
    }
    active = (set(activity) | set(timing.responses_by_user) | set(timing.resolutions_by_user)) - {None}
    members = Membership.objects.filter(tenant=tenant, user=OuterRef("pk"))
    people = get_user_model().objects.filter(Q(Exists(members)) | Q(pk__in=active))
    people = people.annotate(role=Subquery(members.values("role")[:1]))
    rows = [_row(user, activity, timing) for user in people]
    return sorted(rows, key=lambda row: (-row.replies, -row.responses.count, row.user.email))


def _row(user, activity, timing):
    mine = activity.get(user.pk, {})
    return AgentRow(
        user=user,
        role=Role(user.role).label if user.role else "Former member",
        replies=mine.get("replies", 0),
        conversations=mine.get("conversations", 0),
        responses=timing.responses_by_user.get(user.pk, Stats()),
        resolved=timing.resolutions_by_user.get(user.pk, Stats()).count,
    )
