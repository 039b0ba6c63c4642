"""Settings, all from the environment (django-environ).

With no variables set the project runs embedded on one machine: SQLite under var/, an
in-memory channel layer, media under var/media/. Production sets DATABASE_URL, REDIS_URL
and the S3 variables; `.env.example` lists every setting with its default.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")
# SQLite, local media and collected static files; a relative path is under the project folder.
VAR_DIR = BASE_DIR / (env.str("VAR_DIR", default="") or "var")

DEBUG = env.bool("DEBUG", default=False)


def required(name, dev_default):
    """A production secret: a default only while DEBUG is on, else ImproperlyConfigured."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"Set the {name} environment variable (required when DEBUG is off).")


SECRET_KEY = required("SECRET_KEY", "dev-only-insecure-secret-key-do-not-use-in-production-0123456789")
# Fernet keys for secrets at rest (tokens, app secrets). The first encrypts; all decrypt,
# so a new key is put first and the old one kept until `rotate_encryption_key` has run.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS and not DEBUG:
    raise ImproperlyConfigured(
        "Set the FIELD_ENCRYPTION_KEYS environment variable (required when DEBUG is off); "
        'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Demo mode turns on the built-in WhatsApp simulator. It never runs with DEBUG off.
DEMO_MODE = env.bool("DEMO_MODE", default=False)
if DEMO_MODE and not DEBUG:
    raise ImproperlyConfigured("DEMO_MODE needs DEBUG=true: the simulator never runs in production.")

INSTALLED_APPS = [
    "daphne",
    "inbox.apps.InboxAdminConfig",  # Django admin behind the app's login and second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "axes",
    "django_otp",
    "csp",
    "accounts",
    "tenants",
    "whatsapp",
    "dashboard",
    "api",
    "ninja",  # the API docs page's assets, served as our static files
    "hooks",
    # After whatsapp, whose db_worker command (threads, NOTIFY wake-up) replaces theirs.
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Every error under /api/ as a problem document, whichever middleware or view made it.
    "api.middleware.ApiProblems",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "inbox.middleware.RejectNulCharacters",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused by the throttle into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "inbox.urls"
ASGI_APPLICATION = "inbox.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "inbox.context_processors.demo_mode",
                "hooks.context_processors.disabled_endpoints",
            ],
        },
    },
]

SILENCED_SYSTEM_CHECKS = []

# Database: SQLite under var/ by default, PostgreSQL through DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'inbox.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections leak under ASGI; a pool per process does not.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The pool checks a connection before handing it out: after a database restart its idle
    # connections are dead, and each would otherwise fail one request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Web and worker write at once: WAL and immediate transactions avoid "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # SQLite ignores the INCLUDE columns of the dashboard's covering indexes: fine at its scale.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

# What stands between this process and PostgreSQL: nothing (""), or PgBouncer in session mode
# ("pgbouncer-session", as workers must) or transaction mode ("pgbouncer-transaction", for web
# processes). A transaction-mode pool hands each transaction to any server connection, so
# nothing may outlive a transaction: no prepared statements (psycopg prepares a statement run 5
# times; PgBouncer 1.18 does not carry them over), no server-side cursors (.iterator()), no
# LISTEN. docs/deploying.md ("PgBouncer").
DATABASE_POOLERS = ("", "pgbouncer-session", "pgbouncer-transaction")
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in DATABASE_POOLERS:
    raise ImproperlyConfigured(
        f"DATABASE_POOLER={DATABASE_POOLER!r}: use one of {', '.join(repr(p) for p in DATABASE_POOLERS)}."
    )
if DATABASE_POOLER == "pgbouncer-transaction":
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_POOLER=pgbouncer-transaction needs a PostgreSQL DATABASE_URL.")
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# The login throttle checks first, then Django's own backend checks the password.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one email from
# one address, that pair waits AXES_COOLOFF_MINUTES; other people and addresses are unaffected.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.throttle.username"
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_ip"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# A refused attempt neither extends the lockout nor writes a row: bounded work under a flood.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
# Proxies in front of the app that append to X-Forwarded-For (0: use the socket's address).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Two-factor authentication (django-otp, TOTP): the name authenticator apps show.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Team Inbox")
# Every staff user needs an authenticator app to reach Django admin (on unless DEBUG).
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=not DEBUG)

# Password reset emails: printed on the console unless an SMTP server is configured.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Team Inbox <inbox@localhost>")
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Channel layer: in-memory for one process, Redis (pub/sub, no per-channel capacity to
# overflow) when REDIS_URL is set. redis-py 8 defaults to a 5 s socket timeout, which
# kills idle websockets, and to 100 pooled connections (channels_redis#422).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis' pub/sub layer, which closes live sockets when Redis goes away.
            "BACKEND": "inbox.channel_layers.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "max_connections": env.int("REDIS_MAX_CONNECTIONS", default=1000),
                    }
                ],
                "prefix": env.str("CHANNELS_PREFIX", default="inbox"),
            },
        }
    }
elif DEBUG:
    CHANNEL_LAYERS = {"default": {"BACKEND": "inbox.channel_layers.ThreadSafeInMemoryChannelLayer"}}
else:
    raise ImproperlyConfigured("Set the REDIS_URL environment variable (required when DEBUG is off).")

# Open websockets check again, at least this often, that their person may still see the
# workspace. Saved changes close them at once; this catches what no signal announces
# (queryset updates, sessions deleted in bulk or expired). See whatsapp/realtime/access.py.
REALTIME_ACCESS_RECHECK_SECONDS = env.float("REALTIME_ACCESS_RECHECK_SECONDS", default=60.0)
if REALTIME_ACCESS_RECHECK_SECONDS <= 0:
    raise ImproperlyConfigured("Set REALTIME_ACCESS_RECHECK_SECONDS to a number of seconds above 0.")

# Background work: the Django Tasks API on the database backend. Enqueueing inserts a row
# in the caller's transaction, so a message and its send job commit or roll back together;
# on PostgreSQL it also notifies the workers, who wake on commit (whatsapp/jobs/backend.py).
TASKS = {
    "default": {
        "BACKEND": "whatsapp.jobs.backend.NotifyingDatabaseBackend",
        "QUEUES": ["default", "webhooks", "media", "hooks"],
    }
}
# /healthz and the dashboard call a queue stalled when its oldest ready job has waited longer.
QUEUE_STALL_SECONDS = env.float("QUEUE_STALL_SECONDS", default=60.0)
if QUEUE_STALL_SECONDS <= 0:
    raise ImproperlyConfigured("Set QUEUE_STALL_SECONDS to a number of seconds above 0.")

# Static files are served by the app itself (WhiteNoise); no CDN, no build step. With DEBUG
# off, `collectstatic` copies them into STATIC_ROOT under names holding a hash of their
# content, compressed; pages link those names, which browsers may cache for ever.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

# Media: local files under var/media/ by default, S3 (or any S3-compatible store) when
# AWS_STORAGE_BUCKET_NAME is set. Files are private either way.
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "inbox.static_storage.ManifestStaticStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=300),
            # Signature v4: v2 presigned URLs are refused by newer AWS regions and many stores.
            "signature_version": env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4"),
            "file_overwrite": False,
        },
    }

# WhatsApp Cloud API. Every Graph call, media downloads included, goes to this base URL,
# so the project's fake Graph API can stand in for Meta.
WHATSAPP_GRAPH_URL = env.str("WHATSAPP_GRAPH_URL", default="https://graph.facebook.com").rstrip("/")

# Outgoing webhooks (hooks/, docs/webhooks.md). Endpoints must be public https URLs; with
# OUTGOING_WEBHOOKS_ALLOW_PRIVATE, http and private, loopback and link-local addresses are
# allowed too (development and tests only: it lets workspace admins reach the internal network).
OUTGOING_WEBHOOKS_ALLOW_PRIVATE = env.bool("OUTGOING_WEBHOOKS_ALLOW_PRIVATE", default=False)
# A delivery that keeps failing is retried, with exponential backoff, for this many hours.
OUTGOING_WEBHOOKS_RETRY_HOURS = env.float("OUTGOING_WEBHOOKS_RETRY_HOURS", default=48.0)
# An endpoint failing without a success for this many days, or this many attempts in a row
# (0: no limit by count), is disabled and its owners are told.
OUTGOING_WEBHOOKS_DISABLE_AFTER_DAYS = env.float("OUTGOING_WEBHOOKS_DISABLE_AFTER_DAYS", default=5.0)
OUTGOING_WEBHOOKS_DISABLE_AFTER_FAILURES = env.int("OUTGOING_WEBHOOKS_DISABLE_AFTER_FAILURES", default=0)
# How long the old secret still signs after a rotation, so receivers can switch over.
OUTGOING_WEBHOOKS_SECRET_OVERLAP_HOURS = env.float("OUTGOING_WEBHOOKS_SECRET_OVERLAP_HOURS", default=24.0)
# Requests in flight at once to one endpoint.
OUTGOING_WEBHOOKS_CONCURRENCY = env.int("OUTGOING_WEBHOOKS_CONCURRENCY", default=32)
if OUTGOING_WEBHOOKS_RETRY_HOURS < 24:
    raise ImproperlyConfigured("Set OUTGOING_WEBHOOKS_RETRY_HOURS to 24 or more: receivers may be down for a day.")
if OUTGOING_WEBHOOKS_DISABLE_AFTER_DAYS <= 0 or OUTGOING_WEBHOOKS_DISABLE_AFTER_FAILURES < 0:
    raise ImproperlyConfigured(
        "Set OUTGOING_WEBHOOKS_DISABLE_AFTER_DAYS above 0 and OUTGOING_WEBHOOKS_DISABLE_AFTER_FAILURES to 0 or more."
    )
if OUTGOING_WEBHOOKS_CONCURRENCY < 1:
    raise ImproperlyConfigured("Set OUTGOING_WEBHOOKS_CONCURRENCY to 1 or more.")
WHATSAPP_API_VERSION = env.str("WHATSAPP_API_VERSION", default="24.0")
WHATSAPP_TIMEOUT_SECONDS = env.float("WHATSAPP_TIMEOUT_SECONDS", default=20.0)
# Meta's webhook bodies reach 3 MB; larger ones get 413 from the webhook endpoint, which
# answers its URL in front of Django (whatsapp/webhook/asgi.py).
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=3 * 1024 * 1024)
# On PostgreSQL that endpoint stores through an async pool of this many connections per web
# process (on top of Django's pool). A webhook that waits longer than WEBHOOK_POOL_TIMEOUT
# seconds for one (the database is down or swamped) gets 503, and Meta sends it again.
WEBHOOK_POOL_SIZE = env.int("WEBHOOK_POOL_SIZE", default=8)
WEBHOOK_POOL_TIMEOUT = env.float("WEBHOOK_POOL_TIMEOUT", default=1.5)
# Login, reset, 2FA and invitation forms are tiny: anything larger is refused before it is read.
ACCOUNTS_MAX_BODY_BYTES = env.int("ACCOUNTS_MAX_BODY_BYTES", default=64 * 1024)

# The REST API (/api/v1/). Keys are stored as an HMAC of their secret with this key: changing
# it makes every key invalid. Each key may make API_RATE_LIMIT_PER_SECOND requests a second
# unless it has its own limit; bodies past API_MAX_BODY_BYTES (API_MEDIA_MAX_BODY_BYTES for
# file uploads) are refused with 413 before they are read.
API_KEY_HASH_SECRET = env.str("API_KEY_HASH_SECRET", default="") or SECRET_KEY
API_RATE_LIMIT_PER_SECOND = env.int("API_RATE_LIMIT_PER_SECOND", default=50)
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
API_MEDIA_MAX_BODY_BYTES = env.int("API_MEDIA_MAX_BODY_BYTES", default=101 * 1024 * 1024)
if min(API_RATE_LIMIT_PER_SECOND, API_MAX_BODY_BYTES, API_MEDIA_MAX_BODY_BYTES) <= 0:
    raise ImproperlyConfigured("API_RATE_LIMIT_PER_SECOND and the API_*_BODY_BYTES settings must be above 0.")

# Production hardening: on whenever DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=False)
# The pages' scripts read the CSRF token from the page (every logged-in page has a form).
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Joining browsers' preload list is hard to undo: the operator's choice, not a default.
        SILENCED_SYSTEM_CHECKS.append("security.W021")

# Content Security Policy (django-csp): scripts and styles only from our own files, no
# inline code, no framing; images and media also from data:/blob: and the S3 host.
from inbox.csp import content_security_policy  # noqa: E402

CONTENT_SECURITY_POLICY = content_security_policy(
    allowed_hosts=ALLOWED_HOSTS,
    secure=not DEBUG and env.bool("SECURE_SSL_REDIRECT", default=True),
    bucket=AWS_STORAGE_BUCKET_NAME,
    endpoint_url=env.str("AWS_S3_ENDPOINT_URL", default=""),
    region=env.str("AWS_S3_REGION_NAME", default=""),
    extra_media_hosts=env.list("CSP_MEDIA_HOSTS", default=[]),
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "inbox.log_filters.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # PyWA logs request kwargs at DEBUG, headers included: keep it quieter.
        "pywa": {"level": "WARNING"},
        # PyWA logs a traceback for each item it cannot parse; ingestion keeps a note on the
        # event and stores the item from the raw payload instead.
        "pywa.server": {"level": "CRITICAL"},
        "httpx": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # django-axes logs every login at INFO; lockouts and failures still show at WARNING.
        "axes": {"level": "WARNING"},
    },
}
