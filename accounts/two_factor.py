"""Two-factor authentication with an authenticator app (TOTP, through django-otp).

A person with a confirmed device enters a code after their password. A workspace whose
owners require two factors sends its members without one to set it up first."""

import base64

import segno
from django.conf import settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device


def confirmed_device(user):
    from .models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user):
    """The device being set up: made once, kept until confirmed, so a reload shows the
    same QR code."""
    from .models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def qr_code_data_uri(device):
    """The otpauth:// URL as an SVG QR code in a data: URI: drawn here, no external service,
    allowed by the page's `img-src data:`."""
    return segno.make(device.config_url(settings.OTP_TOTP_ISSUER), error="m").svg_data_uri(scale=5, border=2)


def manual_key(device):
    """The secret in base32, grouped by four, for typing into an app by hand."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def session_is_verified(request):
    """True when this session's login passed a second factor (django-otp's middleware)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def scope_is_verified(user, session):
    """The same check for a websocket's scope, which has a session but no OTP middleware."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id, for_verify=False)
    return device is not None and device.user_id == user.pk and device.confirmed
