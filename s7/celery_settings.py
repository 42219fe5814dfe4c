"""Celery's settings (the app lives in celery_worker.py): the broker on Redis in production and on
the filesystem locally, the queues, the time limits and the engine's periodic sweeps."""

import ssl
from datetime import timedelta
from pathlib import Path

from s7.env import env, envbool, envint
from uploads.tasknames import beat_schedule as uploads_beat_schedule


def celery_settings(*, redis_url: str, redis_tls: bool, var_dir: Path) -> dict[str, object]:
    """The CELERY_* settings, read from the environment."""
    if redis_url:
        CELERY_BROKER_URL = redis_url
        if redis_tls:
            CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_NONE}
        # Redis clients, as the plan counts them: a process publishes on one broker connection at a
        # time (others wait their turn: a publish takes a fraction of a millisecond)...
        CELERY_BROKER_POOL_LIMIT = envint("CELERY_BROKER_POOL_LIMIT", 1)
        # ... each of them a single Redis client (s7/broker.py; "redis" is kombu's own, two clients)...
        CELERY_BROKER_TRANSPORT = env("CELERY_BROKER_TRANSPORT", "s7.broker:Transport")
        # ... and nobody sends the workers remote-control commands (celery inspect/control), whose
        # mailbox costs every worker a client of its own.
        CELERY_WORKER_ENABLE_REMOTE_CONTROL = envbool(
            "CELERY_WORKER_ENABLE_REMOTE_CONTROL", default=False
        )
    else:
        CELERY_BROKER_URL = "filesystem://"
        _broker_dir = var_dir / "broker"
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(_broker_dir),
            "data_folder_out": str(_broker_dir),
            "processed_folder": str(_broker_dir / "processed"),
            # Celery's remote-control mailboxes; kombu puts them in ./control unless told.
            "control_folder": str(_broker_dir / "control"),
            "store_processed": False,
            # Local only: the worker looks for tasks (and notices Ctrl-C) twice a second.
            "polling_interval": 0.5,
        }
    CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", default=False)
    CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "s7")
    # Uploads whose purpose decodes images are processed on their own queue, by a worker of one
    # child (bin/worker), under shorter time limits.
    CELERY_IMAGE_QUEUE = env("CELERY_IMAGE_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-images")
    CELERY_IMAGE_TASK_SOFT_TIME_LIMIT = envint("CELERY_IMAGE_TASK_SOFT_TIME_LIMIT", 120)
    CELERY_IMAGE_TASK_TIME_LIMIT = envint("CELERY_IMAGE_TASK_TIME_LIMIT", 150)
    CELERY_TASK_IGNORE_RESULT = True
    CELERY_TASK_ACKS_LATE = True
    CELERY_TASK_REJECT_ON_WORKER_LOST = True
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1
    CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 600)
    CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 660)
    if redis_url:
        _visibility_timeout = envint("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 300)
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            # A task unacknowledged for longer than this is redelivered (a worker that was killed
            # leaves its task unacknowledged): keep it above the hard time limit.
            "visibility_timeout": _visibility_timeout,
            # How often a worker looks for such tasks (kombu's default is every 100 s): a Redis
            # ZRANGE, cheap enough every few seconds.
            "unacked_restore_interval": max(1, min(10, _visibility_timeout // 8)),
            "unacked_restore_throttle": 1,
            # Keeps the broker's keys (queues, the unacked index) apart when runs share a Redis.
            "global_keyprefix": env("CELERY_BROKER_KEY_PREFIX", ""),
        }
    # Heroku stops a dyno with SIGTERM and kills it 30 s later. With REMAP_SIGTERM=SIGQUIT in the
    # worker's environment (Procfile), SIGTERM starts a soft shutdown: running tasks get this long
    # to finish, then the unfinished ones are handed back to the broker for the next worker.
    CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = float(envint("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", 20))
    # A lost broker connection would redeliver the running tasks anyway: stop them, don't run twice.
    CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
    # A child that grew past this (KiB) is replaced after its task: fragmented memory is never given
    # back. The image worker (bin/worker) has its own, higher limit: decoding is what grows it.
    CELERY_WORKER_MAX_MEMORY_PER_CHILD = envint("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 160_000)
    CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
    # LOGGING below is the worker's too (celery_worker.py), so its lines are JSON like the web's.
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False
    # The engine's periodic sweeps, each interval in minutes from the environment where it is set.
    CELERY_BEAT_SCHEDULE = uploads_beat_schedule(
        **{
            argument: timedelta(minutes=envint(variable, 0))
            for argument, variable in (
                ("expire_every", "UPLOADS_EXPIRE_EVERY_MINUTES"),
                ("sweep_stuck_every", "UPLOADS_SWEEP_STUCK_EVERY_MINUTES"),
                ("cleanup_every", "UPLOADS_CLEANUP_EVERY_MINUTES"),
            )
            if env(variable)
        }
    )
    return {name: value for name, value in locals().items() if name.startswith("CELERY_")}
