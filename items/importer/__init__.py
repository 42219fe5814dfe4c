"""Moving the live Simplici7y in: its database and bucket, read only, become S7's rows and
Uploads (``python manage.py import_simplici7y``).

- ``source``: the live database, read in one read-only snapshot, and what its rows become
- ``tables``: the small tables (users, tags, items, versions, reviews, screenshots), upserted
- ``downloads``: the download rows, streamed with COPY in batches behind a watermark
- ``files``: versions' and screenshots' stored files adopted as Uploads (copied inside S3) and
  verified as they arrive, several in flight
- ``ledger``: which side changed a row since the last run (S7's changes kept), S7's own id range
- ``checks``: the live values fixed or left out by a stated rule, each listed in the report
- ``context``: one run's options and state, and how it writes a live table
- ``phases``: one module a phase (users, tags, items, versions, reviews, screenshots, downloads,
  the files' end, the counts)
- ``guard``: the run that must not start (after the switch-over, into a used database)
- ``report``: what a run did, as the command prints it
- ``run``: the whole import in order, and the switch-over's mark
"""
