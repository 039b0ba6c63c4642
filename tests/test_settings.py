"""Settings come from the environment; production refuses to start half-configured."""

import pytest

from tests.support.production import PRODUCTION


def test_with_debug_off_a_missing_secret_key_names_the_variable(manage):
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_with_debug_off_a_missing_redis_url_names_the_variable(manage):
    result = manage("check", **{**PRODUCTION, "REDIS_URL": ""})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "REDIS_URL" in result.stderr


def test_a_realtime_access_recheck_interval_of_zero_names_the_variable(manage):
    result = manage("check", **{**PRODUCTION, "REALTIME_ACCESS_RECHECK_SECONDS": "0"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "REALTIME_ACCESS_RECHECK_SECONDS" in result.stderr


@pytest.mark.parametrize(
    "name, value",
    [
        ("OUTGOING_WEBHOOKS_RETRY_HOURS", "12"),
        ("OUTGOING_WEBHOOKS_DISABLE_AFTER_DAYS", "0"),
        ("OUTGOING_WEBHOOKS_CONCURRENCY", "0"),
    ],
)
def test_outgoing_webhook_settings_out_of_range_name_the_variable(manage, name, value):
    result = manage("check", **{**PRODUCTION, name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr


def test_with_debug_off_a_missing_encryption_key_names_the_variable(manage):
    result = manage("check", **{**PRODUCTION, "FIELD_ENCRYPTION_KEYS": ""})
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_demo_mode_cannot_be_turned_on_in_production(manage):
    result = manage("check", **PRODUCTION, DEMO_MODE="true")
    assert result.returncode != 0
    assert "DEMO_MODE" in result.stderr


def test_check_deploy_is_clean_with_production_settings(manage):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_with_no_variables_the_embedded_defaults_apply(manage):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], "
        "s.CHANNEL_LAYERS['default']['BACKEND'], s.STORAGES['default']['BACKEND'], s.WHATSAPP_GRAPH_URL)",
        DEBUG="true",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == [
        "django.db.backends.sqlite3",
        "inbox.channel_layers.ThreadSafeInMemoryChannelLayer",
        "django.core.files.storage.FileSystemStorage",
        "https://graph.facebook.com",
    ]


def test_postgres_gets_a_connection_pool_and_no_persistent_connections():
    from django.conf import settings

    database = settings.DATABASES["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"]["max_size"] >= 1


def test_s3_is_used_when_a_bucket_is_set(manage):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.STORAGES['default']['BACKEND'], "
        "s.STORAGES['default']['OPTIONS']['default_acl'])",
        DEBUG="true",
        AWS_STORAGE_BUCKET_NAME="inbox-media",
    )
    assert result.stdout.split()[-2:] == ["storages.backends.s3.S3Storage", "private"]


def test_admin_requires_two_factors_by_default_in_production_and_not_in_development(manage):
    show = ["shell", "--no-imports", "-c", "from django.conf import settings; print(settings.ADMIN_REQUIRE_2FA)"]
    assert manage(*show, **PRODUCTION).stdout.strip() == "True"
    assert manage(*show, **{**PRODUCTION, "ADMIN_REQUIRE_2FA": "false"}).stdout.strip() == "False"
    assert manage(*show, DEBUG="true").stdout.strip() == "False"


def test_an_unknown_database_pooler_names_the_variable(manage):
    result = manage("check", **PRODUCTION, DATABASE_POOLER="pgbouncer-statement")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DATABASE_POOLER" in result.stderr


def test_behind_a_transaction_pool_django_prepares_no_statements_and_opens_no_server_side_cursors(manage):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['OPTIONS']['prepare_threshold'], d['DISABLE_SERVER_SIDE_CURSORS'])",
        **PRODUCTION,
        DATABASE_POOLER="pgbouncer-transaction",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["None", "True"]


def test_a_transaction_pool_needs_postgresql(manage, tmp_path):
    sqlite = f"sqlite:///{tmp_path / 'inbox.sqlite3'}"
    result = manage("check", **{**PRODUCTION, "DATABASE_URL": sqlite}, DATABASE_POOLER="pgbouncer-transaction")
    assert result.returncode != 0
    assert "DATABASE_POOLER=pgbouncer-transaction needs a PostgreSQL DATABASE_URL" in result.stderr


def test_a_worker_refuses_a_transaction_pool_and_says_it_needs_a_session_pool(manage):
    result = manage("db_worker", "--no-reload", **PRODUCTION, DATABASE_POOLER="pgbouncer-transaction")
    assert result.returncode != 0
    assert "LISTEN" in result.stderr and "DATABASE_POOLER=pgbouncer-session" in result.stderr
