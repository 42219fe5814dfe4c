"""S7's tools for developing and measuring, not parts of the engine or of the site.

- ``seaweedfs``  the local S3 server (SeaweedFS's ``weed mini``) that ``make run``, the tests and
                 the benchmarks start.
- ``management`` ``s3_local`` (that server in the foreground, for Procfile.dev) and
                 ``test_upload_performance`` (an upload through the live API, timed).
"""
