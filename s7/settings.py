"""S7 settings: 12-factor, read from the environment.

Production is the default; ``S7_ENV=development`` (set by ``make run``, the tests and the bench)
gives every setting a local default that needs nothing installed (SQLite, a file cache, a
filesystem Celery broker, SeaweedFS on loopback). In production a missing setting stops start-up
with a message naming it.
"""

from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from s7.celery_settings import celery_settings
from s7.env import (
    DEVELOPMENT,
    PRODUCTION,
    env,
    envbool,
    envint,
    envlist,
    fail_if_missing,
    required,
)
from s7.logs import logging_settings
from uploads.conf import DEFAULTS as _engine_defaults

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("S7_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = required("SECRET_KEY", "s7-local-development-key-not-for-production-use-0123456789")
# Never in production: a debug page shows settings and source to whoever triggers an error.
DEBUG = DEVELOPMENT and envbool("DEBUG", default=True)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS") or ([] if PRODUCTION else ["127.0.0.1", "localhost"])
if PRODUCTION and not ALLOWED_HOSTS:
    required("ALLOWED_HOSTS", "")
# The site's origin: links in e-mails and the one origin S3's CORS rule lets upload.
SITE_URL = required("SITE_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS") or ([SITE_URL] if SITE_URL else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "uploads",
    "items",
    "items.importer",
    # S7's own development tools: the local S3 server's command, the upload timing command.
    "devtools",
]

MIDDLEWARE = [
    "s7.requestid.RequestIdMiddleware",
    "s7.middleware.ApiErrorsAsJsonMiddleware",
    "s7.middleware.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "uploads.api.limits.ApiBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "s7.urls"
WSGI_APPLICATION = "s7.wsgi.application"
AUTH_USER_MODEL = "items.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: Postgres through psycopg 3 and Django's own pool; SQLite locally. ---
DATABASE_URL = required("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL or "sqlite://:memory:")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # With the pool, health checks make Django hand out only connections that answer.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if envbool("DATABASE_POOL", default=True):
        # The pool replaces persistent connections, so CONN_MAX_AGE must stay 0.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"] = {
            "pool": {
                "min_size": envint("DATABASE_POOL_MIN", 1),
                # Per process; the plan's connections are shared by every process of every dyno
                # (README, "Heroku's plan limits"): 2 web dynos × 2 processes × 3, and one per
                # worker child, leave 6 of the Postgres plan's 20 (essential-0 and -1 alike) for
                # one-off dynos.
                "max_size": envint("DATABASE_POOL_MAX", 3),
                # How long a request waits for a connection (Postgres down or the pool spent)
                # before it answers 503.
                "timeout": envint("DATABASE_POOL_TIMEOUT", 10),
            }
        }
    if DATABASES["default"].get("OPTIONS", {}).get("pool"):
        # The pool's connections are checked only after they sat idle (s7/postgres/base.py):
        # Django's own check costs a round trip on every request.
        DATABASES["default"]["ENGINE"] = "s7.postgres"
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The local web process and worker write at once: WAL and IMMEDIATE avoid "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker. Heroku's rediss:// uses a self-signed certificate. ---
REDIS_URL = required("REDIS_URL", "")
_redis_tls = REDIS_URL.startswith("rediss://")
# Redis clients per process, the plan's 20 being shared by every process (README, "Heroku's plan
# limits"). A thread that finds the cache's connections busy waits for one (a command takes a
# fraction of a millisecond; the pool hands connections out last-in first-out, so on a starved
# machine one thread can wait seconds behind the others); 0 leaves the pool unbounded. Redis being
# down is not this wait: the socket timeouts below fail that fast.
REDIS_CACHE_MAX_CONNECTIONS = envint("REDIS_CACHE_MAX_CONNECTIONS", 1)
_cache_pool = (
    {
        "pool_class": "redis.BlockingConnectionPool",
        "max_connections": REDIS_CACHE_MAX_CONNECTIONS,
        "timeout": 10,
    }
    if REDIS_CACHE_MAX_CONNECTIONS
    else {}
)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "s7.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "s7"),
            # A cache that is down must fail fast: progress and throttles then degrade quietly.
            "OPTIONS": {
                "socket_connect_timeout": 1,
                "socket_timeout": 2,
                **({"ssl_cert_reqs": None} if _redis_tls else {}),
                **_cache_pool,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": "s7",
        }
    }

# --- Celery (s7/celery_settings.py; the app lives in celery_worker.py). ---
globals().update(celery_settings(redis_url=REDIS_URL, redis_tls=_redis_tls, var_dir=VAR_DIR))

# --- S3: AWS in production, SeaweedFS locally. ---
AWS_ACCESS_KEY_ID = required("AWS_ACCESS_KEY_ID", "s7local")
AWS_SECRET_ACCESS_KEY = required("AWS_SECRET_ACCESS_KEY", "s7localsecret")
AWS_STORAGE_BUCKET_NAME = required("AWS_STORAGE_BUCKET_NAME", "s7-local")
AWS_S3_REGION_NAME = required("AWS_S3_REGION_NAME", "us-east-1")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", "" if PRODUCTION else "http://127.0.0.1:8333")
# SeaweedFS and other local servers want path-style; AWS takes virtual-hosted style.
AWS_S3_ADDRESSING_STYLE = env(
    "AWS_S3_ADDRESSING_STYLE", "path" if AWS_S3_ENDPOINT_URL else "virtual"
)
# Files reach S3 through uploads.s3, never through Django's storage API: no "default" storage.
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- The upload engine. ---
# Its settings and their defaults live in the engine (uploads/conf.py): here only what S7 changes.
# Any of its UPLOADS_* settings that is a number or a name can be given in the environment
# (UPLOADS_QUOTA_BYTES, UPLOADS_EXPIRE_AFTER, UPLOADS_PROGRESS_CACHE, ...) with no line here.
for _name, _default in _engine_defaults.items():
    if _name.startswith("UPLOADS_") and env(_name):
        if isinstance(_default, int):
            globals()[_name] = envint(_name, _default)
        elif isinstance(_default, str):
            globals()[_name] = env(_name)
UPLOADS_BASE_TEMPLATE = "items/base.html"  # the uploader demo page wears the site's layout
UPLOADS_CORS_ORIGINS = envlist("UPLOADS_CORS_ORIGINS") or ([SITE_URL] if SITE_URL else [])
# The site's purposes (items/purposes.py), not the engine's.
UPLOADS_VERSION_FILE_MAX_SIZE = envint("UPLOADS_VERSION_FILE_MAX_SIZE", 5 * 1024**3)
UPLOADS_SCREENSHOT_MAX_SIZE = envint("UPLOADS_SCREENSHOT_MAX_SIZE", 20 * 1024**2)

# API request bodies larger than this are refused (413) before they are read (the engine's
# default, readable from the environment).
API_MAX_BODY_BYTES = envint("API_MAX_BODY_BYTES", 1024 * 1024)
# Where the site's APIs live (s7/urls.py): every answer under it is JSON (s7/middleware.py).
API_PATH_PREFIX = "/api/"
# How long a web process remembers an API token's user (s7/authentication.py): a token deleted
# in another process still works for at most this long.
API_TOKEN_CACHE_SECONDS = envint("API_TOKEN_CACHE_SECONDS", 5)

# --- REST framework. Token auth first, so an anonymous call answers 401 with a challenge. ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "s7.authentication.RememberedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON whatever the Accept header: a browser gets what a script gets (/api/docs/ is the page).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "s7.pagination.NewestFirstCursorPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_THROTTLE_RATES": {
        "upload_create": env("THROTTLE_UPLOAD_CREATE", "60/min"),
        "upload_sign": env("THROTTLE_UPLOAD_SIGN", "600/min"),
        # Reads include the uploader polling progress, a few files at a time.
        "upload_read": env("THROTTLE_UPLOAD_READ", "1200/min"),
        "upload_write": env("THROTTLE_UPLOAD_WRITE", "600/min"),
        # The site's public lists and objects, per client address (or per signed-in user).
        "public_read": env("THROTTLE_PUBLIC_READ", "120/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "S7 API",
    "DESCRIPTION": "Simplici7y: items, versions, screenshots and direct-to-S3 uploads.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {"UploadStateEnum": "uploads.core.models.UploadState"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "uploads.api.schema.state_list_lengths",
        "uploads.api.schema.link_new_uploads",
        "s7.schema.document_errors",
    ],
}

# Django's own, which checks no password for an address or account that failed too often.
AUTHENTICATION_BACKENDS = ["items.logins.LimitedModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- The site (items). Sign-up asks for this phrase, as the old site did against spam bots. ---
SIGNUP_PASSPHRASE = required("SIGNUP_PASSPHRASE", "pfhor")
# The weighted rating treats every item as if it also had this many reviews of PRIOR stars.
ITEMS_RATING_PRIOR_COUNT = envint("ITEMS_RATING_PRIOR_COUNT", 5)
ITEMS_RATING_PRIOR = 3.0
ITEMS_PER_PAGE = envint("ITEMS_PER_PAGE", 20)
# Proxies in front of the site that append the client's address to X-Forwarded-For (Heroku's
# router: 1); 0 trusts the socket's address alone.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 1 if PRODUCTION else 0)
# Rates per client address (and per account where it applies): "10/min", "20/15min", "5/hour".
ITEMS_RATE_DOWNLOAD = env("ITEMS_RATE_DOWNLOAD", "60/min")
ITEMS_RATES = {
    # Failed password checks (log-in pages, the admin's, the old password of a change); a
    # success counts nothing.
    "login": {
        "address": env("ITEMS_RATE_LOGIN_ADDRESS", "30/15min"),
        "account": env("ITEMS_RATE_LOGIN_ACCOUNT", "10/15min"),
    },
    "signup": {"address": env("ITEMS_RATE_SIGNUP_ADDRESS", "10/hour")},
    "password_reset": {
        "address": env("ITEMS_RATE_PASSWORD_RESET_ADDRESS", "10/hour"),
        "account": env("ITEMS_RATE_PASSWORD_RESET_ACCOUNT", "3/hour"),
    },
}
# Password-reset links go by e-mail: production names a real backend (SMTP, or a provider's),
# never one that writes mail to the logs or drops it.
EMAIL_BACKEND = required("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
if PRODUCTION and EMAIL_BACKEND.rpartition(".")[0] in (
    "django.core.mail.backends.console",
    "django.core.mail.backends.filebased",
    "django.core.mail.backends.locmem",
    "django.core.mail.backends.dummy",
):
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND {EMAIL_BACKEND} does not send mail; production needs one that does, "
        "e.g. django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST."
    )
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Simplici7y <noreply@simplici7y.com>")

# Announcements: the worker posts each new version's and review's URL to Discord channels
# (and publishes it where the channel is an announcement channel). Off unless the token is set.
DISCORD_BOT_TOKEN = env("DISCORD_BOT_TOKEN")
DISCORD_UPLOADS_CHANNEL_ID = env("DISCORD_UPLOADS_CHANNEL_ID")
DISCORD_REVIEWS_CHANNEL_ID = env("DISCORD_REVIEWS_CHANNEL_ID")
DISCORD_API_URL = env("DISCORD_API_URL", "https://discord.com/api/v10")
DISCORD_RETRY_BACKOFF = envint("DISCORD_RETRY_BACKOFF", 30)  # seconds, doubled per retry

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# One JSON object per line, with the request's id (s7/logs.py).
LOGGING = logging_settings(level=env("LOG_LEVEL", "INFO"))

# /healthz: each process checks the database, the cache and S3 at most once in this many
# seconds and answers from that result in between; each client address may ask this often.
HEALTHZ_MAX_AGE = envint("HEALTHZ_MAX_AGE", 5)
HEALTHZ_RATE = env("HEALTHZ_RATE", "120/min")

# Errors (with their request or task) go to Sentry when a DSN is given; nothing is sent otherwise
# (s7/tracking.py reads the other SENTRY_* variables).
SENTRY_DSN = env("SENTRY_DSN")
if SENTRY_DSN:
    from s7.tracking import start_error_tracking_from_environment

    start_error_tracking_from_environment(SENTRY_DSN)

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    if SITE_URL and urlparse(SITE_URL).scheme != "https":
        required("SITE_URL (https://…)", "")

fail_if_missing()
