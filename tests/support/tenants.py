"""The two tenants of the named fixtures (acme and globex) and everyone's password."""

from django.test import Client

PASSWORD = "correct-horse-battery-staple"

ACME = {
    "name": "Acme",
    "waba_id": "ACME_WABA",
    "phone_number_id": "111000111",
    "display_phone_number": "15550001111",
    "access_token": "acme-access-token-0123456789",
    "app_secret": "acme-app-secret-0123456789",
    "verify_token": "acme-verify-token",
}
GLOBEX = {
    "name": "Globex",
    "waba_id": "GLOBEX_WABA",
    "phone_number_id": "222000222",
    "display_phone_number": "15550002222",
    "access_token": "globex-access-token-0123456789",
    "app_secret": "globex-app-secret-0123456789",
    "verify_token": "globex-verify-token",
}


def client_for(user):
    """A test client logged in as `user` (no second factor)."""
    client = Client()
    client.force_login(user)
    return client
