"""`manage.py` in a process of its own with production-like variables and nothing of the test
settings, to see what the settings module makes of them."""

import os
import subprocess
import sys

from .servers import BASE_DIR

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
    "FIELD_ENCRYPTION_KEYS": "U1LxUMpXKIyKLTgjnQ5uVmYakfkugSK6vmkbcjoENxI=",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "ALLOWED_HOSTS": "inbox.example.com",
}


def run_manage(*args, var_dir, **env):
    """`manage.py *args` with only the machine's environment plus `env`: not what the test
    settings added to this process. `var_dir` is the process's VAR_DIR (a temporary folder)."""
    ours = {*PRODUCTION, "WHATSAPP_GRAPH_URL", "CHANNELS_PREFIX", "SECURE_SSL_REDIRECT", "DEMO_MODE"}
    clean = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith("DJANGO_")}
    clean.update(DJANGO_SETTINGS_MODULE="inbox.settings", VAR_DIR=str(var_dir), **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )
