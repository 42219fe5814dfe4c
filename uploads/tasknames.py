"""The names the worker's tasks register under, and the periodic ones' beat schedule.

The web side enqueues by these names (``uploads.core.dispatch``), the worker registers its tasks
under them (``uploads.worker.tasks``), and a project's Celery beat runs the sweeps by them. Like
``uploads.conf``, this module imports nothing of Django, so a settings file may use it:

    CELERY_BEAT_SCHEDULE = {**beat_schedule(), ...the project's own entries}
"""

from datetime import timedelta

PROCESS_UPLOAD = "uploads.process_upload"
EXPIRE_STALE_UPLOADS = "uploads.expire_stale_uploads"
SWEEP_STUCK_UPLOADS = "uploads.sweep_stuck_uploads"
CLEANUP_STORAGE = "uploads.cleanup_storage"
COMPUTE_SHA256 = "uploads.compute_sha256"


def beat_schedule(
    *,
    expire_every: timedelta = timedelta(minutes=10),
    sweep_stuck_every: timedelta = timedelta(minutes=5),
    cleanup_every: timedelta = timedelta(minutes=60),
) -> dict[str, dict]:
    """The engine's periodic tasks, as entries of Celery's ``beat_schedule``: expiring unfinished
    uploads, resolving those stuck in completing or processing, and deleting what S3 holds that
    no upload needs."""
    return {
        "expire-stale-uploads": {"task": EXPIRE_STALE_UPLOADS, "schedule": expire_every},
        "sweep-stuck-uploads": {"task": SWEEP_STUCK_UPLOADS, "schedule": sweep_stuck_every},
        "cleanup-storage": {"task": CLEANUP_STORAGE, "schedule": cleanup_every},
    }
