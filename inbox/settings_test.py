"""Settings for the test suite: production-like (DEBUG off) on the machine's PostgreSQL
and Redis. Each value can still be overridden from the environment."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "U1LxUMpXKIyKLTgjnQ5uVmYakfkugSK6vmkbcjoENxI=")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/inbox")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("CHANNELS_PREFIX", f"inbox-test-{os.getpid()}")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("WHATSAPP_GRAPH_URL", "http://127.0.0.1:9")
# The tests' webhook receivers listen on loopback.
os.environ.setdefault("OUTGOING_WEBHOOKS_ALLOW_PRIVATE", "true")

from inbox.settings import *  # noqa: F403

# Tests log in many times; the default hasher's cost only slows them down.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# Served from the apps' folders, as in development: no collectstatic before tests.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
