"""Querysets compiled once per thread, for the send path's hottest read.

Building and compiling a select_related queryset costs several times running it (bench/
send_cost.py: 3 of the claim's 4.4 ms of CPU), and a worker runs the same one for every
message, with only the message id changing. Django has no statement cache, so this keeps
the compiler of the first run and runs its SQL again with the new id, making model
instances (related objects included) as QuerySet does.
"""

import threading

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import get_related_populators


class CompiledQuery:
    """`build(value)` returns the queryset for one value. first(value) returns its first
    object, or None. The value must reach the SQL as one parameter, unchanged (an id)."""

    PLACEHOLDER = -7_346_118_905  # no row has this id: it marks the value's place once

    def __init__(self, build):
        self.build = build
        self._per_thread = threading.local()  # a compiler holds its thread's connection

    def first(self, value, using=DEFAULT_DB_ALIAS):
        compiler, sql, params, position = self._compiled(using)
        params = [*params]
        params[position] = value
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchmany(1)
        for row in compiler.results_iter([rows]):
            return self._instance(compiler, row, using)
        return None

    def _compiled(self, using):
        compiled = getattr(self._per_thread, using, None)
        if compiled is None:
            compiler = self.build(self.PLACEHOLDER)[:1].query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            positions = [index for index, param in enumerate(params) if param == self.PLACEHOLDER]
            if len(positions) != 1:
                raise ValueError(f"The value must appear once among the query's parameters, not {len(positions)} times.")
            compiled = (compiler, sql, params, positions[0])
            setattr(self._per_thread, using, compiled)
        return compiled

    @staticmethod
    def _instance(compiler, row, using):
        """What django.db.models.query.ModelIterable does with one row."""
        select, klass_info = compiler.select, compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        names = [column[0].target.attname for column in select[start:end]]
        instance = klass_info["model"].from_db(using, names, row[start:end])
        for populator in get_related_populators(klass_info, select, using):
            populator.populate(row, instance)
        return instance
