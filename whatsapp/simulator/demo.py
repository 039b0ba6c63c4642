"""The demo: a tenant, two users and a simulated customer on the fake Graph API."""

import secrets

from tenants.models import Role
from tenants.setup import add_member, create_tenant
from whatsapp.models import Connection

DEMO_SLUG = "demo"
DEMO_PHONE_NUMBER_ID = "100200300400"
DEMO_DISPLAY_NUMBER = "15550001111"
DEMO_USERS = [
    ("owner@demo.test", Role.OWNER, "Olivia Owner"),
    ("agent@demo.test", Role.AGENT, "Adam Agent"),
]
DEMO_PASSWORD = "demo-inbox-2026"
DEMO_CUSTOMER = ("15557654321", "Maria Silva")


def seed_demo():
    """Create the demo tenant and users once; later runs keep the secrets they made."""
    existing = Connection.objects.filter(tenant__slug=DEMO_SLUG).first()
    tenant = create_tenant(
        DEMO_SLUG,
        name="Demo Company",
        waba_id="DEMO_WABA",
        phone_number_id=DEMO_PHONE_NUMBER_ID,
        display_phone_number=DEMO_DISPLAY_NUMBER,
        access_token=existing.access_token if existing else "demo-token-" + secrets.token_urlsafe(24),
        app_secret=existing.app_secret if existing else secrets.token_hex(16),
        verify_token=existing.verify_token if existing else secrets.token_urlsafe(12),
    )
    for email, role, name in DEMO_USERS:
        add_member(tenant, email, role=role, password=DEMO_PASSWORD, name=name)
    return tenant, existing is None
