"""The old way, for comparison only: files POSTed through Django's upload handlers to S3.

Bench-only: served by the bench's own settings and URLs, never by S7's production URLs.
"""
