"""The dashboard's volume and delivery figures: SQL aggregates over a tenant's rows in a
Period, so a figure costs the same number of queries whatever the amount of data. Days and
hours are counted in settings.TIME_ZONE. Volumes, the funnel and the heat map share one
pass over the period's messages (hourly_counts), read from one covering index.

Only messages that stand in a thread count: reactions, edits, deletions and system notices
(number changes) are stored as messages too, but are not messages anyone wrote.
"""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Max, Sum, Window
from django.db.models.functions import TruncHour
from django.utils import timezone

from whatsapp.cloud.api import explain
from whatsapp.message_types import FOLLOWUP_TYPES
from whatsapp.models import WINDOW_CLOSING_SOON, Conversation, Message, MessageStatus

from .models import MessageTally

NOT_IN_THREAD = (*FOLLOWUP_TYPES, "system")
CLOSING_LIST_SIZE = 10
IN, OUT = Message.Direction.IN, Message.Direction.OUT


def thread_messages(tenant, period):
    """The tenant's messages written in the period (by Meta's timestamp)."""
    return Message.objects.filter(tenant=tenant, timestamp__gte=period.start, timestamp__lt=period.end).exclude(
        type__in=NOT_IN_THREAD
    )


def status_counts(tenant):
    """How many conversations are in each status now, every status listed."""
    counts = dict(Conversation.objects.filter(tenant=tenant).values_list("status").annotate(n=Count("pk")).order_by())
    return [(value, label, counts.get(value, 0)) for value, label in Conversation.Status.choices]


def hourly_counts(tenant, period):
    """One pass over the period's messages: (local hour, direction, status, count) rows,
    from which the daily volumes, the funnel and the heat map are all drawn."""
    if connection.vendor == "postgresql":
        return _hourly_tallies(tenant, period)
    local_hour = TruncHour("timestamp", tzinfo=timezone.get_default_timezone())
    return list(
        thread_messages(tenant, period)
        .annotate(hour=local_hour)
        .values_list("hour", "direction", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )


def _hourly_tallies(tenant, period):
    """The same rows, summed from the quarter-hour tallies: a period starts and ends at a
    local midnight, which is the start of a quarter hour in UTC."""
    local_hour = TruncHour("quarter", tzinfo=timezone.get_default_timezone())
    return list(
        MessageTally.objects.filter(tenant=tenant, quarter__gte=period.start, quarter__lt=period.end)
        .annotate(hour=local_hour)
        .values_list("hour", "direction", "status")
        .annotate(n=Sum("count"))
        .exclude(n=0)
        .order_by()
    )


@dataclass
class Day:
    day: object
    inbound: int = 0
    outbound: int = 0

    @property
    def total(self):
        return self.inbound + self.outbound


def daily_volume(period, hourly):
    """One Day per day of the period, zeros included: messages in and out."""
    days = {day: Day(day) for day in period.days}
    for hour, direction, _status, n in hourly:
        day = days.get(hour.date())
        if day is not None:
            if direction == IN:
                day.inbound += n
            else:
                day.outbound += n
    return list(days.values())


@dataclass
class Funnel:
    """Our messages written in the period, by how far each got. Read receipts can be turned
    off by customers, so `read` is a floor."""

    total: int = 0
    sent: int = 0  # accepted by WhatsApp: sent, delivered or read
    delivered: int = 0  # delivered or read
    read: int = 0
    failed: int = 0
    waiting: int = 0  # queued or sending

    def rate(self, name):
        return round(100 * getattr(self, name) / self.total) if self.total else 0


FUNNEL_STAGES = {
    MessageStatus.QUEUED: ("waiting",),
    MessageStatus.SENDING: ("waiting",),
    MessageStatus.SENT: ("sent",),
    MessageStatus.DELIVERED: ("sent", "delivered"),
    MessageStatus.READ: ("sent", "delivered", "read"),
    MessageStatus.FAILED: ("failed",),
}


def delivery_funnel(hourly):
    funnel = Funnel()
    for _hour, direction, status, n in hourly:
        if direction == OUT:
            funnel.total += n
            for stage in FUNNEL_STAGES.get(status, ()):
                setattr(funnel, stage, getattr(funnel, stage) + n)
    return funnel


@dataclass
class Failure:
    code: int
    count: int
    reason: str


def failures_by_code(tenant, period):
    """Our failed messages of the period by Meta's error code, most frequent first, each
    with the reason in words (code 0: no answer from WhatsApp, or the worker stopped)."""
    rows = (
        thread_messages(tenant, period)
        .filter(direction=OUT, status=MessageStatus.FAILED)
        .values("error_code")
        .annotate(n=Count("pk"), title=Max("error_title"), detail=Max("error_detail"))
        .order_by("-n", "error_code")
    )
    return [
        Failure(row["error_code"] or 0, row["n"], explain(row["error_code"] or 0, row["title"], row["detail"]))
        for row in rows
    ]


@dataclass
class HeatMap:
    """Customers' messages by weekday (Monday first) and hour, in settings.TIME_ZONE."""

    cells: list = field(default_factory=lambda: [[0] * 24 for _ in range(7)])

    @property
    def busiest(self):
        return max(max(row) for row in self.cells)


def busiest_hours(hourly):
    heat_map = HeatMap()
    for hour, direction, _status, n in hourly:
        if direction == IN:
            heat_map.cells[hour.isoweekday() - 1][hour.hour] += n
    return heat_map


def closing_windows(tenant, now=None, within=WINDOW_CLOSING_SOON):
    """(The conversations not resolved whose 24-hour window closes within `within`, soonest
    first, at most CLOSING_LIST_SIZE; how many there are in all)."""
    now = now or timezone.now()
    closing = Conversation.objects.filter(
        tenant=tenant, window_closes_at__gt=now, window_closes_at__lte=now + within
    ).exclude(status=Conversation.Status.RESOLVED)
    listed = list(
        closing.select_related("contact", "assignee")
        .annotate(total=Window(Count("pk")))  # the count in the same query
        .order_by("window_closes_at", "pk")[:CLOSING_LIST_SIZE]
    )
    return listed, listed[0].total if listed else 0
