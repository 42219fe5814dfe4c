"""Stock ``@uppy/aws-s3`` 5.x with plain presigned multipart (no checksums), for comparison only.

Bench-only: served by the bench's own settings and URLs (bench/oldway), never by S7's.
"""
