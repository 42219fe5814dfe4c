"""Runs on the Celery worker: the tasks, completion on S3, verification, the renditions step
and its image decoding, and the periodic sweeps (beat). Every function may run twice for the
same upload and must end the same way."""
