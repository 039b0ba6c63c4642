"""Key paging (inbox/paging.py), the one helper every list pages with: newest first, rows of
the same time in id order, a key looked up only in the list's own scope."""

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from inbox import paging
from tenants.models import AuditEvent

LOGIN = AuditEvent.Action.LOGIN


@pytest.fixture
def entries(acme):
    """Seven audit entries of acme, newest first: three of the same moment, then four a minute
    apart."""
    now = timezone.now()
    made = [AuditEvent.objects.create(tenant=acme, action=LOGIN, created_at=now) for _ in range(3)][::-1]
    made += [
        AuditEvent.objects.create(tenant=acme, action=LOGIN, created_at=now - timedelta(minutes=n)) for n in (1, 2)
    ]
    made += [
        AuditEvent.objects.create(tenant=acme, action=LOGIN, created_at=now - timedelta(minutes=n)) for n in (3, 4)
    ]
    return made


def pages_of(rows, scope, by, size):
    pages, before = [], None
    while True:
        page, before = paging.older_page(rows, before, scope=scope, by=by, size=size)
        pages.append([row.pk for row in page])
        if before is None:
            return pages


def test_pages_go_newest_first_and_rows_of_the_same_time_by_id(acme, entries):
    everything = AuditEvent.objects.filter(tenant=acme, action=LOGIN)
    pages = pages_of(everything, everything, "created_at", size=2)
    assert pages == [[entry.pk for entry in entries[i : i + 2]] for i in range(0, 7, 2)]


def test_pages_by_id_alone(acme, entries):
    everything = AuditEvent.objects.filter(tenant=acme, action=LOGIN)
    assert pages_of(everything, everything, "pk", size=3) == [
        sorted((entry.pk for entry in entries), reverse=True)[i : i + 3] for i in (0, 3, 6)
    ]


def test_a_key_outside_the_scope_starts_at_the_newest_page(acme, globex, entries):
    foreign = AuditEvent.objects.create(tenant=globex, action=LOGIN, created_at=timezone.now() - timedelta(days=1))
    acmes = AuditEvent.objects.filter(tenant=acme, action=LOGIN)
    page, _ = paging.older_page(acmes, foreign.pk, scope=acmes, by="created_at", size=2)
    assert [row.pk for row in page] == [entry.pk for entry in entries[:2]]


def test_the_pager_keeps_the_filters_but_not_the_key(acme, entries):
    params = QueryDict(mutable=True)
    params.update({"action": LOGIN, "before": str(entries[1].pk)})
    acmes = AuditEvent.objects.filter(tenant=acme, action=LOGIN)
    context = paging.key_page(acmes, params, scope=acmes, by="created_at")
    assert [row.pk for row in context["rows"]] == [entry.pk for entry in entries[2:]]
    assert context["older_before"] is None and context["query"] == f"action={LOGIN}"


@pytest.mark.parametrize("value", ["", None, "abc", "-1", "0", "1.5", str(2**63), "9" * 30])
def test_a_key_that_is_no_row_id_is_none(value):
    assert paging.page_key(value) is None


def test_a_key_is_a_row_id():
    assert paging.page_key("42") == 42 and paging.page_key(42) == 42
