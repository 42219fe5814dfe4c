"""SQL the ORM does not spell: durations, Postgres's percentile and bucketing.

Each works on Postgres (production) and on SQLite (``make run``), which has no percentile
aggregate: ``has_percentile_cont`` says which a database is, so the reports can compute the
same percentile in Python there.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import Aggregate, FloatField, Func, IntegerField


def has_percentile_cont(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


class Seconds(Func):
    """``end - start`` in seconds, as a float."""

    output_field = FloatField()
    arg_joiner = " - "

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        end, start = (compiler.compile(expression) for expression in self.get_source_expressions())
        return f"((julianday({end[0]}) - julianday({start[0]})) * 86400.0)", (*end[1], *start[1])


class PercentileCont(Aggregate):
    """Postgres's continuous percentile (linear interpolation between the nearest ranks)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


class WidthBucket(Func):
    """Which bucket a value falls in, counting the edges at or below it: 0 below the first
    edge, len(edges) from the last one on (the rule of ``bisect_right``)."""

    output_field = IntegerField()

    def __init__(self, expression, edges):
        self.edges = tuple(float(edge) for edge in edges)
        super().__init__(expression)

    def as_postgresql(self, compiler, connection, **extra):
        value, params = compiler.compile(self.source_expressions[0])
        array = ", ".join(["%s"] * len(self.edges))
        return f"width_bucket({value}, ARRAY[{array}]::double precision[])", (
            *params,
            *self.edges,
        )

    def as_sql(self, compiler, connection, **extra):
        value, params = compiler.compile(self.source_expressions[0])
        cases = " ".join(f"WHEN {value} < %s THEN {n}" for n in range(len(self.edges)))
        every = [*params, *(param for edge in self.edges for param in (*params, edge))]
        sql = f"(CASE WHEN {value} IS NULL THEN NULL {cases} ELSE {len(self.edges)} END)"
        return sql, tuple(every)
