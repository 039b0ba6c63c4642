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
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery

from tenants.models import Membership, Role
from whatsapp.models import ConversationResolution, Message, MessageStatus

from .metrics import IN, NOT_IN_THREAD, OUT, thread_messages
from .percentiles import Stats, summarize

REPLY = Q(direction=OUT, author__isnull=False) & ~Q(status=MessageStatus.FAILED)


def waits(tenant, period):
    """One row per wait that started in the period: started, ended (the reply's timestamp,
    or None), grp (the replying member's user id, or None)."""
    thread = Message.objects.exclude(type__in=NOT_IN_THREAD).filter(conversation=OuterRef("conversation_id"))
    # (timestamp, id) before and after the outer message; the timestamp bound is the index range.
    before = Q(timestamp__lte=OuterRef("timestamp")) & ~Q(timestamp=OuterRef("timestamp"), pk__gte=OuterRef("pk"))
    after = Q(timestamp__gte=OuterRef("timestamp")) & ~Q(timestamp=OuterRef("timestamp"), pk__lte=OuterRef("pk"))
    previous = thread.filter(Q(direction=IN) | REPLY, before).order_by("-timestamp", "-pk").values("direction")[:1]
    reply = thread.filter(REPLY, after).order_by("timestamp", "pk")
    return (
        thread_messages(tenant, period)
        .filter(direction=IN)
        .alias(previous_direction=Subquery(previous))
        .filter(Q(previous_direction=OUT) | Q(previous_direction__isnull=True))  # none: the first message
        .values(
            started=F("timestamp"),
            ended=Subquery(reply.values("timestamp")[:1]),
            grp=Subquery(reply.values("author")[:1]),
        )
        .order_by()
    )


def resolutions(tenant, period):
    """One row per resolution in the period: started (opened_at), ended, grp (resolved_by)."""
    return (
        ConversationResolution.objects.filter(
            tenant=tenant, resolved_at__gte=period.start, resolved_at__lt=period.end
        )
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
    responses, responses_by_user = summarize(waits(tenant, period), grouped=True)
    resolved, resolutions_by_user = summarize(resolutions(tenant, period), grouped=True)
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
