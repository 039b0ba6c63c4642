"""Every figure of the dashboard against a small week of data computed by hand.

The week is Monday 2 to Sunday 8 March 2026, in UTC (settings.TIME_ZONE) unless a test says
otherwise. Rows are written directly: these tests are about reading them back.
"""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from dashboard import metrics, timing
from dashboard.percentiles import percentile
from tests.support.dashboard_week import IN, OUT, WEEK, Scenario, at, build_week
from whatsapp.conversations.resolutions import record_resolution
from whatsapp.models import Conversation, ConversationResolution


@pytest.fixture
def week(acme, agent, owner):
    return build_week(acme, agent, owner)


def hourly(scenario):
    return metrics.hourly_counts(scenario.tenant, WEEK)


def test_percentiles_interpolate_like_percentile_cont():
    assert percentile([60, 300, 600, 1800], 0.5) == 450
    assert percentile([60, 300, 600, 1800], 0.9) == pytest.approx(1440)
    assert percentile([7], 0.9) == 7
    assert percentile([], 0.5) is None


def test_messages_per_day_count_both_directions_without_reactions(week):
    days = {day.day.day: (day.inbound, day.outbound) for day in metrics.daily_volume(WEEK, hourly(week))}
    assert days == {2: (4, 6), 3: (1, 0), 4: (1, 1), 5: (0, 2), 6: (0, 0), 7: (0, 0), 8: (1, 0)}


def test_days_follow_the_time_zone_setting(week, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+5:30: Sunday 1 March 23:00 UTC is Monday here
    days = {day.day.day: (day.inbound, day.outbound) for day in metrics.daily_volume(WEEK, hourly(week))}
    # Monday now also holds B's 23:00 message; Sunday 8 March 23:59 UTC moved to the 9th.
    assert days[2] == (5, 6) and days[8] == (0, 0)
    assert metrics.busiest_hours(hourly(week)).cells[0][4] == 1  # Monday 04:30 local


def test_the_delivery_funnel_counts_each_message_at_its_furthest_status(week):
    funnel = metrics.delivery_funnel(hourly(week))
    assert (funnel.total, funnel.sent, funnel.delivered, funnel.read, funnel.failed, funnel.waiting) == (
        9,
        5,
        4,
        2,
        3,
        1,
    )
    assert funnel.rate("delivered") == 44


def test_failures_are_grouped_by_meta_code_with_the_reason_in_words(week):
    failures = metrics.failures_by_code(week.tenant, WEEK)
    assert [(failure.code, failure.count) for failure in failures] == [(131026, 2), (131047, 1)]
    assert failures[0].reason.startswith("WhatsApp could not deliver this message")
    assert "24-hour window is closed" in failures[1].reason


def test_the_heat_map_counts_customers_messages_by_weekday_and_hour(week):
    cells = metrics.busiest_hours(hourly(week)).cells
    expected = {(0, 0): 1, (0, 9): 2, (0, 10): 1, (1, 8): 1, (2, 12): 1, (6, 23): 1}
    assert {(d, h): n for d, row in enumerate(cells) for h, n in enumerate(row) if n} == expected


def test_conversations_are_counted_by_status_now(week):
    Conversation.objects.filter(pk__in=[week.b.pk]).update(status="pending")
    Conversation.objects.filter(pk__in=[week.c.pk]).update(status="resolved")
    Conversation.objects.filter(pk__in=[week.d.pk]).update(status="snoozed")
    counts = {value: count for value, _label, count in metrics.status_counts(week.tenant)}
    assert counts == {"open": 2, "pending": 1, "resolved": 1, "snoozed": 1}


def test_first_response_times_cover_the_waits_that_started_in_the_range(week):
    responses = timing.team_timing(week.tenant, WEEK).responses
    # Answered waits: 60 s, 300 s, 600 s, 1,800 s; one still waits.
    assert (responses.count, responses.measured, responses.unmeasured) == (5, 4, 1)
    assert responses.median == timedelta(seconds=450)
    assert responses.p90.total_seconds() == pytest.approx(1440)


def test_each_wait_is_credited_to_the_member_who_ended_it(week):
    by_user = timing.team_timing(week.tenant, WEEK).responses_by_user
    agent, owner = by_user[week.agent.pk], by_user[week.owner.pk]
    assert (agent.count, agent.median, agent.p90.total_seconds()) == (3, timedelta(seconds=300), pytest.approx(540))
    assert (owner.count, owner.median, owner.p90) == (1, timedelta(seconds=1800), timedelta(seconds=1800))
    assert by_user[None].count == 1  # the unanswered wait


def test_messages_in_the_same_second_are_ordered_by_id(acme, agent):
    s = Scenario(acme, agent, agent)
    conversation = s.conversation("F")
    s.message(conversation, IN, at(3, 9))
    s.message(conversation, OUT, at(3, 9), author=agent)  # the same second, written after
    s.message(conversation, IN, at(3, 9))  # after the reply: a new wait
    responses = timing.team_timing(acme, WEEK).responses
    assert (responses.count, responses.measured, responses.median) == (2, 1, timedelta(0))


@pytest.fixture
def resolved(week):
    record_resolution(week.a, by=week.agent, at=at(2, 11))  # from 2 Mar 09:00: 7,200 s
    record_resolution(week.b, by=week.owner, at=at(4, 12, 30))  # from 1 Mar 23:00: 221,400 s
    record_resolution(week.a, by=week.agent, at=at(3, 9))  # from 3 Mar 08:00: 3,600 s
    record_resolution(week.e, at=at(5, 10))  # E has no message: no resolution time
    record_resolution(week.c, by=week.agent, at=at(9, 10, 30))  # after the week
    return week


def test_a_resolution_starts_at_the_first_customer_message_after_the_previous_one(resolved):
    opened = list(
        ConversationResolution.objects.filter(conversation=resolved.a)
        .order_by("resolved_at")
        .values_list("opened_at", flat=True)
    )
    assert opened == [at(2, 9), at(3, 8)]
    assert ConversationResolution.objects.get(conversation=resolved.e).opened_at is None


def test_resolution_times_come_from_the_resolutions_in_the_range(resolved):
    result = timing.team_timing(resolved.tenant, WEEK)
    stats = result.resolutions
    assert (stats.count, stats.measured, stats.median) == (4, 3, timedelta(seconds=7200))
    assert stats.p90.total_seconds() == pytest.approx(7200 + 0.8 * (221400 - 7200))
    assert result.resolutions_by_user[resolved.agent.pk].count == 2


def test_the_team_table_has_a_row_per_member_with_their_figures(resolved):
    result = timing.team_timing(resolved.tenant, WEEK)
    rows = {row.user.email: row for row in timing.agent_table(resolved.tenant, WEEK, result)}
    agent, owner = rows[resolved.agent.email], rows[resolved.owner.email]
    assert (agent.replies, agent.conversations, agent.responses.count, agent.resolved) == (7, 3, 3, 2)
    assert (owner.replies, owner.conversations, owner.responses.count, owner.resolved) == (1, 1, 1, 1)
    assert owner.role == "Owner" and list(rows)[0] == resolved.agent.email  # the busiest first


def test_a_former_member_keeps_a_row_for_their_work(week):
    week.owner.memberships.all().delete()
    result = timing.team_timing(week.tenant, WEEK)
    rows = {row.user.email: row for row in timing.agent_table(week.tenant, WEEK, result)}
    assert rows[week.owner.email].role == "Former member" and rows[week.owner.email].replies == 1


def test_windows_closing_soon_lists_unresolved_conversations_soonest_first(week):
    now = timezone.now()
    closing = {
        week.a: (now - timedelta(hours=1), "open"),  # closed already
        week.b: (now + timedelta(hours=5), "open"),  # not soon
        week.c: (now + timedelta(minutes=30), "resolved"),
        week.d: (now + timedelta(hours=2), "snoozed"),
        week.e: (now + timedelta(hours=1), "pending"),
    }
    for conversation, (closes, status) in closing.items():
        Conversation.objects.filter(pk=conversation.pk).update(window_closes_at=closes, status=status)
    listed, total = metrics.closing_windows(week.tenant, now=now)
    assert [conversation.pk for conversation in listed] == [week.e.pk, week.d.pk] and total == 2


def test_another_tenants_rows_never_count(week, globex):
    other = Scenario(globex, week.agent, week.owner)
    other.message(other.a, IN, at(2, 9))
    other.message(other.a, OUT, at(2, 9, 1), author=week.agent, status="failed", error_code=131026)
    assert sum(day.inbound for day in metrics.daily_volume(WEEK, hourly(week))) == 7
    assert metrics.delivery_funnel(hourly(week)).total == 9
    assert timing.team_timing(week.tenant, WEEK).responses.count == 5


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("sqlite"), reason="this is the SQLite run")
def test_the_same_figures_come_out_of_sqlite(tmp_path):
    """The embedded demo runs on SQLite: every test above, again, in a process on SQLite."""
    environment = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'figures.sqlite3'}", "VAR_DIR": str(tmp_path)}
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
        cwd=Path(__file__).resolve().parent.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert " passed" in finished.stdout and "failed" not in finished.stdout
