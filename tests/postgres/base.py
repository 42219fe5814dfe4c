"""The suite's Postgres: S7's backend (s7/postgres), flushed by DELETE instead of TRUNCATE.

Between transactional tests (live servers, workers, browsers) Django empties every table. A
TRUNCATE gives each table and index new files: about 40 ms for S7's tables on a quiet machine,
and about 300 ms under the suite's load, some 150 times a run. Deleting the few rows a test
leaves takes about a millisecond. The flush runs in one transaction and Django's foreign keys
are checked at commit (DEFERRABLE INITIALLY DEFERRED), so the order of the tables is free.
"""

from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations

from s7.postgres import base


class DatabaseOperations(PostgresOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
        ]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
