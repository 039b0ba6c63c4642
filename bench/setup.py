"""The benchmark's own database and settings: production settings (DEBUG off) on
PostgreSQL `inbox_bench` and Redis, the same for this process and every process it starts."""

import os
import subprocess
import sys
import tempfile

import psycopg

from bench.procs import BASE_DIR

DATABASE = os.environ.get("BENCH_DATABASE", "inbox_bench")
SERVER_DSN = os.environ.get("BENCH_SERVER_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-0123456789"

ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "inbox.settings",
    "DEBUG": "false",
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
    "FIELD_ENCRYPTION_KEYS": "U1LxUMpXKIyKLTgjnQ5uVmYakfkugSK6vmkbcjoENxI=",
    "DATABASE_URL": SERVER_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgres://") + f"/{DATABASE}",
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "CHANNELS_PREFIX": f"bench-{os.getpid()}",
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "WARNING",
    "VAR_DIR": tempfile.mkdtemp(prefix="bench-var-"),
    "WHATSAPP_GRAPH_URL": "http://127.0.0.1:9",
    "OUTGOING_WEBHOOKS_ALLOW_PRIVATE": "true",  # the outgoing webhooks' receiver is on loopback
    "PYTHONUNBUFFERED": "1",
}


def database_dsn():
    return SERVER_DSN.rsplit("/", 1)[0] + f"/{DATABASE}"


def fresh_database(keep):
    """Create (or with keep=False, recreate) the benchmark database and migrate it; collect
    the static files the production settings serve."""
    with psycopg.connect(SERVER_DSN, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if exists and not keep:
            connection.execute(f'DROP DATABASE "{DATABASE}" WITH (FORCE)')
        if not exists or not keep:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
    for command in (["migrate"], ["collectstatic"]):  # production settings serve hashed static files
        subprocess.run(
            [sys.executable, "manage.py", *command, "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=os.environ | ENVIRONMENT,
            check=True,
        )


def django_setup():
    os.environ.update(ENVIRONMENT)
    import django

    django.setup()


def make_tenant(slug, phone_number_id, messages_per_second=80):
    """A tenant with one number and an owner; returns (tenant, app secret)."""
    from tenants.models import Role
    from tenants.setup import add_member, create_tenant
    from whatsapp.models import PhoneNumber

    secret = f"{slug}-app-secret-0123456789"
    tenant = create_tenant(
        slug,
        name=slug.title(),
        waba_id=f"WABA_{slug}",
        phone_number_id=phone_number_id,
        display_phone_number="15550001111",
        access_token=f"{slug}-token-0123456789",
        app_secret=secret,
        verify_token=f"{slug}-verify",
    )
    PhoneNumber.objects.filter(tenant=tenant).update(messages_per_second=messages_per_second)
    add_member(tenant, f"owner@{slug}.bench", role=Role.OWNER, password=PASSWORD)
    return tenant, secret
