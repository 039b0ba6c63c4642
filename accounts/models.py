import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from inbox.crypto import EncryptedTextField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in by email. Tenants are reached through memberships."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log in to Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    @property
    def display_name(self):
        return self.name or self.email.split("@")[0]


def new_totp_key():
    from django_otp.util import random_hex

    return random_hex(20)


class TOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP, RFC 6238) for django-otp. Like django-otp's own TOTP
    device, but its seed is encrypted at rest with FIELD_ENCRYPTION_KEYS, like the WhatsApp
    secrets, and rotated with them. Wrong codes slow further tries down exponentially."""

    STEP, DIGITS, TOLERANCE = 30, 6, 1

    key = EncryptedTextField(default=new_totp_key, help_text="Hex seed, encrypted at rest.")
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1, help_text="The time step of the last code used; codes are single-use.")

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @property
    def bin_key(self):
        return unhexlify(self.key.encode())

    def get_throttle_factor(self):
        return 1

    def verify_token(self, token):
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        token = str(token).replace(" ", "").strip()
        totp = TOTP(self.bin_key, self.STEP, 0, self.DIGITS, self.drift)
        totp.time = time.time()
        if token.isdigit() and len(token) == self.DIGITS and totp.verify(int(token), self.TOLERANCE, self.last_t + 1):
            self.last_t, self.drift = totp.t(), totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            return True
        self.throttle_increment(commit=True)
        return False

    def config_url(self, issuer):
        """The otpauth:// URL an authenticator app reads from the QR code."""
        label = quote(f"{issuer.replace(':', '')}:{self.user.get_username()}")
        params = urlencode(
            {
                "secret": b32encode(self.bin_key).decode(),
                "algorithm": "SHA1",
                "digits": self.DIGITS,
                "period": self.STEP,
                "issuer": issuer,
            }
        )
        return f"otpauth://totp/{label}?{params}"
