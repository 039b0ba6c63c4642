"""The second factor in tests: the authenticator app's code, or a session that passed it."""

from django_otp.oath import totp


def code(device, steps_ahead=0):
    """The code the person's authenticator app shows (or will show, steps_ahead × 30 s on)."""
    return f"{totp(device.bin_key, step=device.STEP, digits=device.DIGITS, drift=steps_ahead):06d}"


def verify_session(client, user):
    """Gives the client's session a passed second factor, as a code at login would."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
