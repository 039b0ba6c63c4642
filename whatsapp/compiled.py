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
        compiled = self._compiled(using)
        params = [*compiled.params]
        params[compiled.position] = value
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchmany(1)
        if not rows:
            return None
        [row] = compiled.compiler.apply_converters(rows, compiled.converters) if compiled.converters else rows
        instance = compiled.model.from_db(using, compiled.names, row[compiled.start:compiled.end])
        for populator in compiled.populators:
            populator.populate(row, instance)
        return instance

    def _compiled(self, using):
        compiled = getattr(self._per_thread, using, None)
        if compiled is None:
            compiled = _Compiled(self.build(self.PLACEHOLDER)[:1].query.get_compiler(using=using), self.PLACEHOLDER)
            setattr(self._per_thread, using, compiled)
        return compiled


class _Compiled:
    """A compiled query and what django.db.models.query.ModelIterable works out before it
    makes instances of the rows."""

    def __init__(self, compiler, placeholder):
        self.compiler = compiler
        self.sql, self.params = compiler.as_sql()
        positions = [index for index, param in enumerate(self.params) if param == placeholder]
        if len(positions) != 1:
            raise ValueError(f"The value must appear once among the query's parameters, not {len(positions)} times.")
        self.position = positions[0]
        select, klass_info = compiler.select, compiler.klass_info
        self.converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])
        self.model = klass_info["model"]
        self.start, self.end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.names = [column[0].target.attname for column in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, compiler.using)
