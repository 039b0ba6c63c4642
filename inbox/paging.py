"""Key paging, for every list that shows its newest rows first a page at a time: the
conversation list, a thread, contacts, search results, the logs and the audit log.

The link to the next page names the last row shown (`?before=<id>`). That row's (time, id)
is looked up within the list's scope (a tenant's rows, a conversation's), and the page is the
rows just older than it, found through an index: a page costs the same with a million rows as
with fifty, where an offset would read and skip every row before it. A key naming no row of
the scope (another tenant's, a deleted one, nonsense) is ignored: the list starts at its
newest page.
"""

from datetime import datetime, time

from django.db.models import Q
from django.utils import timezone

PAGE_SIZE = 50


def page_key(value):
    """A key from a query string as a row id, or None: never a number the database would refuse."""
    value = str(value or "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**63 else None


def key_of(scope, row_id, by="pk"):
    """The row `row_id` of `scope` as a key, {by: …, "pk": …}, or None when it is not there."""
    if not row_id:
        return None
    return scope.filter(pk=row_id).values(*dict.fromkeys((by, "pk"))).first()


def older_than(key, by="pk"):
    """The rows after `key` in newest-first order. The first condition alone is what an index
    on (…, by) can seek; the second breaks ties between rows of the same time by id."""
    if by == "pk":
        return Q(pk__lt=key["pk"])
    at = key[by]
    return Q(**{f"{by}__lte": at}) & (Q(**{f"{by}__lt": at}) | Q(pk__lt=key["pk"]))


def from_on(key, by="pk"):
    """The row `key` and the rows newer than it: the start of a page read oldest first."""
    if by == "pk":
        return Q(pk__gte=key["pk"])
    at = key[by]
    return Q(**{f"{by}__gte": at}) & (Q(**{f"{by}__gt": at}) | Q(pk__gte=key["pk"]))


def newest_first(rows, by="pk"):
    return rows.order_by("-pk") if by == "pk" else rows.order_by(f"-{by}", "-pk")


def take(rows, size=None):
    """(The first `size` rows as a list, the key of the page after them or None.) One query:
    it reads one row more than it shows, to know whether there is a next page."""
    size = size or PAGE_SIZE
    page = list(rows[: size + 1])
    return page[:size], page[size - 1].pk if len(page) > size else None


def older_page(rows, before, *, scope, by="pk", size=None):
    """One page of `rows`, newest first by (`by`, id): the newest page, or the one after the row
    whose id is `before` (looked up in `scope`). Returns (its rows, the next page's key or None)."""
    key = key_of(scope, before, by)
    if key:
        rows = rows.filter(older_than(key, by))
    return take(newest_first(rows, by), size)


def between_dates(rows, params, by):
    """`rows` whose `by` falls between the `since` and `until` days of `params` (YYYY-MM-DD,
    both included, in the time zone); a missing or malformed date sets no bound."""
    if since := _day(params.get("since")):
        rows = rows.filter(**{f"{by}__gte": since})
    if until := _day(params.get("until"), end=True):
        rows = rows.filter(**{f"{by}__lte": until})
    return rows


def key_page(rows, params, *, scope, by):
    """The template context of one page of `rows` (filtered already) for `_older_pager.html`:
    the rows, the next older page's key, the filters, and the query string that keeps them in
    the pager's link."""
    page, older = older_page(rows, page_key(params.get("before")), scope=scope, by=by)
    query = params.copy()
    query.pop("before", None)
    return {"rows": page, "older_before": older, "filters": params, "query": query.urlencode()}


def _day(value, end=False):
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))
