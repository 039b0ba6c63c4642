"""The dashboard's chart geometry and the words for durations: pure functions, no database."""

from datetime import date, timedelta

import pytest

from dashboard import charts
from dashboard.metrics import Day, Funnel
from dashboard.templatetags.dashboard import duration, percent_of


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (4321, 5000)])
def test_the_scale_ends_on_a_round_number(value, ceiling):
    assert charts.nice_ceiling(value) == ceiling


def test_bars_share_one_scale_and_say_what_they_show():
    days = [Day(date(2026, 3, 2), inbound=10, outbound=5), Day(date(2026, 3, 3), inbound=0, outbound=2)]
    chart = charts.daily_bars(days, width=252, height=148)  # a 200 × 100 plot
    heights = [shape.height for shape in chart.shapes]
    assert heights == [100, 50, 0, 20]
    assert chart.shapes[0].title == "Mon 2 Mar: 10 messages from customers"
    assert chart.shapes[3].title == "Tue 3 Mar: 2 messages to customers"
    assert [label for _y, label in chart.gridlines] == ["0", "5", "10"]


def test_funnel_bars_are_shares_of_the_messages_written():
    chart = charts.funnel(Funnel(total=10, sent=9, delivered=8, read=4, failed=1), width=590)  # 300 wide
    assert [shape.width for shape in chart.shapes] == [300, 270, 240, 120, 30]
    assert chart.shapes[2].label == "8 (80%)"


@pytest.mark.parametrize("busiest", [1, 2, 5, 7, 23, 100])
def test_the_heat_legend_covers_every_count_once_with_its_colour(busiest):
    legend = charts.heat_map([[0] * 24] * 6 + [[busiest] + [0] * 23]).legend
    covered = {}
    for key in legend[1:]:
        low, _, high = key.label.partition("–")
        for count in range(int(low), int(high or low) + 1):
            covered[count] = key.fill
    assert sorted(covered) == list(range(1, busiest + 1))
    assert all(charts.HEAT_COLOURS[charts.heat_level(n, busiest)] == fill for n, fill in covered.items())


def test_an_empty_heat_map_is_all_the_lightest_colour():
    chart = charts.heat_map([[0] * 24 for _ in range(7)])
    assert {shape.fill for shape in chart.shapes} == {charts.HEAT_COLOURS[0]} and len(chart.shapes) == 168
    assert chart.shapes[0].title == "Mon 00:00–01:00: 0 messages"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, "—"),
        (0, "0 s"),
        (59.6, "1 min"),
        (200, "3 min 20 s"),
        (600, "10 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
        (86400, "1 d"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
    ],
)
def test_durations_read_at_a_glance(seconds, words):
    assert duration(None if seconds is None else timedelta(seconds=seconds)) == words


def test_percent_of_nothing_is_zero():
    assert percent_of(3, 0) == 0 and percent_of(1, 3) == 33
