"""Moving the live Simplici7y in: its database and bucket, read only, become S7's rows and
Uploads (``python manage.py import_simplici7y``).

- ``source``: the live database, read in one read-only snapshot, and what its rows become
- ``tables``: the small tables (users, tags, items, versions, reviews, screenshots), upserted
- ``downloads``: the download rows, streamed with COPY in batches behind a watermark
- ``files``: versions' and screenshots' stored files adopted as Uploads (copied inside S3)
- ``run``: the whole import in order, and its report
"""
