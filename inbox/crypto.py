"""Secrets at rest: a model field that stores Fernet ciphertext.

Keys come from FIELD_ENCRYPTION_KEYS (the first encrypts, every key decrypts), so a key
is rotated by putting a new one first and running `manage.py rotate_encryption_key`.
With DEBUG on and no keys set, one key is derived from SECRET_KEY for convenience.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def generate_key():
    return Fernet.generate_key().decode()


@lru_cache(maxsize=4)
def _fernet(keys):
    if not keys:
        derived = hashlib.sha256(("field-encryption:" + settings.SECRET_KEY).encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid Fernet key: {error}") from error


def fernet():
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext):
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext):
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS: was a key removed too early?"
        ) from error


def mask(secret):
    """What pages and admin show of a secret: enough to recognise it, never to use it."""
    if not secret:
        return ""
    return f"…{secret[-4:]}" if len(secret) > 12 else "••••"


class EncryptedTextField(models.TextField):
    """Text encrypted with Fernet in the database, plain in Python. Not searchable."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
