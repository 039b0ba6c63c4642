"""Counts, medians and 90th percentiles of durations, computed by the database.

The input is a query (SQL and its parameters) giving rows with `started`, `ended` (either
may be None: such a row is counted, but has no duration) and, optionally, `grp` columns.

PostgreSQL computes everything in one query, exactly, over every row: percentile_cont with
GROUPING SETS for the total and each group; the input query runs once, which an aggregate
per figure through the ORM would not do. SQLite (the embedded
demo) has no percentile function: it counts every row exactly in SQL, and takes the
percentiles from the most recent SAMPLE_SIZE measured rows, interpolated the same way as
percentile_cont, so they are exact (to the millisecond) whenever the range holds fewer rows
than that.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db import connections

SAMPLE_SIZE = 20_000
MEDIAN, P90 = 0.5, 0.9


@dataclass
class Stats:
    count: int = 0  # every row
    measured: int = 0  # rows with both a start and an end
    median: timedelta | None = None
    p90: timedelta | None = None

    @property
    def unmeasured(self):
        return self.count - self.measured


def sql_of(queryset):
    """A queryset's SQL and parameters, to use inside a larger query."""
    return queryset.query.get_compiler(using=queryset.db).as_sql()


def summarize(inner, params, grouped=False, using="default"):
    """(Stats of every row, {group: Stats}) for the rows of the query `inner`."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        return _summarize_in_postgresql(connection, inner, params, grouped)
    return _summarize_by_sample(connection, inner, params, grouped)


def _seconds(value):
    return None if value is None else timedelta(seconds=float(value))


def _summarize_in_postgresql(connection, inner, params, grouped):
    seconds = "EXTRACT(EPOCH FROM (r.ended - r.started))"
    group = "r.grp" if grouped else "NULL"
    sql = (
        f"SELECT {group}, {'GROUPING(r.grp)' if grouped else '1'}, COUNT(*), COUNT({seconds}), "
        f"percentile_cont({MEDIAN}) WITHIN GROUP (ORDER BY {seconds}), "
        f"percentile_cont({P90}) WITHIN GROUP (ORDER BY {seconds}) "
        f"FROM ({inner}) r" + (" GROUP BY GROUPING SETS ((r.grp), ())" if grouped else "")
    )
    total, groups = Stats(), {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, is_total, count, measured, median, p90 in cursor.fetchall():
            stats = Stats(count, measured, _seconds(median), _seconds(p90))
            if is_total:
                total = stats
            else:
                groups[key] = stats
    return total, groups


def _summarize_by_sample(connection, inner, params, grouped):
    group = "r.grp" if grouped else "NULL"
    seconds = "(julianday(r.ended) - julianday(r.started)) * 86400.0"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {group}, COUNT(*), COUNT({seconds}) FROM ({inner}) r GROUP BY 1", params)
        counts = cursor.fetchall()
        cursor.execute(
            f"SELECT {group}, {seconds} FROM ({inner}) r WHERE {seconds} IS NOT NULL "
            f"ORDER BY r.started DESC LIMIT {SAMPLE_SIZE}",
            params,
        )
        sample = cursor.fetchall()
    # julianday() is a float of days: keep the milliseconds, drop its rounding noise.
    sample = [(key, round(value, 3)) for key, value in sample]
    by_group = {}
    for key, value in sample:
        by_group.setdefault(key, []).append(value)
    total = Stats(sum(row[1] for row in counts), sum(row[2] for row in counts))
    total.median, total.p90 = _percentiles([value for _key, value in sample])
    groups = {}
    for key, count, measured in counts if grouped else ():
        groups[key] = Stats(count, measured, *_percentiles(by_group.get(key, [])))
    return total, groups


def _percentiles(values):
    values = sorted(values)
    return _seconds(percentile(values, MEDIAN)), _seconds(percentile(values, P90))


def percentile(ordered, fraction):
    """percentile_cont: linear interpolation between the two nearest ranks of a sorted list."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)
