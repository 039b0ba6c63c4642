"""Geometry of the dashboard's charts, drawn as SVG by templates/dashboard/_*.html.

Everything a chart shows is also in words: each shape has a <title> (a tooltip, read by
screen readers), each chart a summary <desc>, and the page a table of the same numbers.
"""

import math
from dataclasses import dataclass, field

# A sequential scale from "none" to "busiest", readable in grey when printed.
HEAT_COLOURS = ["#eef2f4", "#c7ecd9", "#8fd8b1", "#4fbf85", "#1f9d5c", "#0b6b3a"]
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class Shape:
    x: float
    y: float
    width: float
    height: float
    title: str
    css: str = ""
    fill: str = ""
    label: str = ""  # a value written next to the shape, at (label_x, label_y)
    label_x: float = 0
    label_y: float = 0


@dataclass
class Chart:
    width: int
    height: int
    shapes: list = field(default_factory=list)
    gridlines: list = field(default_factory=list)  # (y, label)
    x_labels: list = field(default_factory=list)  # (x, label)
    y_labels: list = field(default_factory=list)  # (y, label)
    legend: list = field(default_factory=list)  # Shape


def nice_ceiling(value):
    """The smallest of 1, 2, 5 × 10^k at or above value (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def daily_bars(days, width=760, height=240):
    """Messages in and out per day: two bars a day on a shared scale."""
    left, right, top, bottom = 44, 8, 18, 30
    plot_width, plot_height = width - left - right, height - top - bottom
    top_value = nice_ceiling(max((max(day.inbound, day.outbound) for day in days), default=0))
    slot = plot_width / max(len(days), 1)
    bar = max(slot * 0.38, 1)
    chart = Chart(width, height)
    for fraction in (0, 0.5, 1):
        chart.gridlines.append((round(top + plot_height * (1 - fraction), 1), f"{round(top_value * fraction):,}"))
    label_every = math.ceil(len(days) / 10)
    for index, day in enumerate(days):
        x = left + index * slot + (slot - 2 * bar) / 2
        series = ((x, day.inbound, "in", "from customers"), (x + bar, day.outbound, "out", "to customers"))
        for bar_x, count, css, who in series:
            bar_height = plot_height * count / top_value
            y = top + plot_height - bar_height
            chart.shapes.append(
                Shape(
                    round(bar_x, 1),
                    round(y, 1),
                    round(bar, 1),
                    round(bar_height, 1),
                    f"{day.day:%a %-d %b}: {count:,} {'message' if count == 1 else 'messages'} {who}",
                    css,
                    label=f"{count:,}" if len(days) <= 14 else "",
                    label_x=round(bar_x + bar / 2, 1),
                    label_y=round(y - 4, 1),
                )
            )
        if index % label_every == 0:
            chart.x_labels.append((round(left + (index + 0.5) * slot, 1), f"{day.day:%-d %b}"))
    return chart


def funnel(funnel, width=760):
    """Our messages by how far they got: one bar per stage, as a share of all written."""
    stages = [
        ("Written", funnel.total, "total"),
        ("Accepted by WhatsApp", funnel.sent, "sent"),
        ("Delivered", funnel.delivered, "delivered"),
        ("Read", funnel.read, "read"),
        ("Failed", funnel.failed, "failed"),
    ]
    label_width, value_width, row = 170, 120, 34
    plot_width = width - label_width - value_width
    chart = Chart(width, row * len(stages) + 4)
    for index, (name, count, css) in enumerate(stages):
        share = count / funnel.total if funnel.total else 0
        y = 4 + index * row
        bar_width = round(max(plot_width * share, 1 if count else 0), 1)
        chart.y_labels.append((y + row / 2, name))
        chart.shapes.append(
            Shape(
                label_width,
                y + 4,
                bar_width,
                row - 10,
                f"{name}: {count:,} of {funnel.total:,} ({round(100 * share)}%)",
                css,
                label=f"{count:,} ({round(100 * share)}%)",
                label_x=label_width + bar_width + 6,
                label_y=y + row / 2,
            )
        )
    return chart


def heat_level(count, busiest):
    """0 for none; 1-5 in proportion to the busiest cell."""
    return 0 if not count or not busiest else max(1, math.ceil(5 * count / busiest))


def heat_map(cells, cell=24, gap=2):
    """Customers' messages by weekday and hour: one square per hour, darker when busier."""
    left, top = 44, 20
    busiest = max((max(row) for row in cells), default=0)
    chart = Chart(left + 24 * (cell + gap), top + 7 * (cell + gap) + 44)
    for weekday, (name, row) in enumerate(zip(WEEKDAYS, cells)):
        y = top + weekday * (cell + gap)
        chart.y_labels.append((y + cell / 2, name))
        for hour, count in enumerate(row):
            chart.shapes.append(
                Shape(
                    left + hour * (cell + gap),
                    y,
                    cell,
                    cell,
                    f"{name} {hour:02d}:00–{(hour + 1) % 24:02d}:00: {count:,} "
                    f"{'message' if count == 1 else 'messages'}",
                    fill=HEAT_COLOURS[heat_level(count, busiest)],
                )
            )
    chart.x_labels = [(left + hour * (cell + gap) + cell / 2, f"{hour:02d}") for hour in range(0, 24, 3)]
    chart.legend = _heat_legend(busiest, left, top + 7 * (cell + gap) + 14, cell)
    return chart


def _heat_legend(busiest, x, y, cell):
    keys = [(0, "0", "No messages")]
    for level in range(1, 6):
        low, high = math.floor(busiest * (level - 1) / 5) + 1, math.floor(busiest * level / 5)
        if busiest and low <= high:
            label = f"{low:,}–{high:,}" if low != high else f"{low:,}"
            keys.append((level, label, f"{label} messages"))
    step = cell * 3
    return [
        Shape(
            x + index * step,
            y,
            cell,
            cell / 2,
            title,
            fill=HEAT_COLOURS[level],
            label=label,
            label_x=x + index * step + cell + 4,
            label_y=y + cell / 4,
        )
        for index, (level, label, title) in enumerate(keys)
    ]
