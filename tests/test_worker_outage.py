"""How a worker tells a lost database from a refused statement, and logs an outage: once
when it begins and once when it ends, however many threads see it (whatsapp/jobs/outage.py).
The worker riding out a real restart is tests/test_database_restart.py."""

import logging
import sqlite3

import psycopg
import pytest
from django.db import utils as django_errors
from psycopg import errors

from whatsapp.jobs import outage
from whatsapp.jobs.outage import Outage, is_connection_lost


def wrapped(cause, wrapper=django_errors.OperationalError):
    """`cause` as Django raises it: its own error class, the driver's error as the cause."""
    try:
        raise wrapper(*cause.args) from cause
    except wrapper as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        errors.AdminShutdown("terminating connection due to administrator command"),
        errors.CrashShutdown("terminating connection because of crash of another server process"),
        errors.CannotConnectNow("the database system is starting up"),
        errors.ConnectionFailure("server closed the connection unexpectedly"),
        psycopg.OperationalError("connection failed: Connection refused"),
        psycopg.OperationalError("the connection is closed"),
        psycopg.InterfaceError("the connection is lost"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_lost_connection_is_an_outage_raised_alone_or_wrapped_by_django(error):
    assert is_connection_lost(error)
    assert is_connection_lost(wrapped(error))


@pytest.mark.parametrize(
    "error",
    [
        errors.QueryCanceled("canceling statement due to statement timeout"),
        errors.SerializationFailure("could not serialize access"),
        errors.UniqueViolation("duplicate key value"),
        sqlite3.OperationalError("database is locked"),
        ValueError("a task's own bug"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_refused_statement_or_a_bug_is_not_an_outage(error):
    assert not is_connection_lost(error)
    assert not is_connection_lost(wrapped(error))


def test_an_error_raised_while_handling_a_lost_connection_counts_as_one():
    try:
        try:
            raise errors.AdminShutdown("terminating connection due to administrator command")
        except psycopg.Error:
            raise RuntimeError("the task gave up")  # the implicit chain (__context__) is the point
    except RuntimeError as error:
        assert is_connection_lost(error)


def outage_lines(caplog):
    return [record.getMessage().split(" (")[0].split(" after")[0] for record in caplog.records]


def test_an_outage_is_logged_once_however_many_threads_report_it(caplog):
    caplog.set_level(logging.WARNING, logger="django_tasks_db")
    seen = Outage()
    lost = wrapped(errors.AdminShutdown("terminating connection due to administrator command"))
    for _ in range(3):
        seen.report(lost)
    seen.over()
    seen.over()
    assert outage_lines(caplog) == ["Lost the database", "The database answers again"]
    assert "AdminShutdown: terminating connection due to administrator command" in caplog.records[0].getMessage()


def test_a_late_report_just_after_the_end_is_the_same_outage(caplog):
    caplog.set_level(logging.WARNING, logger="django_tasks_db")
    seen, lost = Outage(), psycopg.OperationalError("the connection is closed")
    seen.report(lost)
    seen.over()
    seen.report(lost)  # a thread that held a dead connection through the outage
    seen.over()
    assert outage_lines(caplog) == ["Lost the database", "The database answers again"]


def test_the_next_outage_is_logged_again(caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger="django_tasks_db")
    seen, lost = Outage(), psycopg.OperationalError("the connection is closed")
    seen.report(lost)
    seen.over()
    monkeypatch.setattr(outage, "SAME_OUTAGE_SECONDS", 0)
    seen.report(lost)
    seen.over()
    assert outage_lines(caplog) == ["Lost the database", "The database answers again"] * 2
