"""The demo: a tenant, two users and a simulated customer on the fake Graph API."""

import secrets

from tenants.models import Role
from tenants.setup import add_member, create_tenant
from whatsapp.models import CannedResponse, Connection, Label

DEMO_SLUG = "demo"
DEMO_PHONE_NUMBER_ID = "100200300400"
DEMO_DISPLAY_NUMBER = "15550001111"
# A second number of the demo account, not in the workspace yet: owners add it on the
# Numbers page with its PIN.
DEMO_SECOND_NUMBER = ("100200300401", "15550002222", "Demo Support", "123456")
DEMO_REVIEW_SECONDS = 5
DEMO_USERS = [
    ("owner@demo.test", Role.OWNER, "Olivia Owner"),
    ("agent@demo.test", Role.AGENT, "Adam Agent"),
]
DEMO_PASSWORD = "demo-inbox-2026"
DEMO_CUSTOMER = ("15557654321", "Maria Silva")
DEMO_LABELS = ["Billing", "Shipping", "VIP"]
DEMO_REPLIES = {
    "hello": "Hi! Thanks for writing to Demo Company. How can we help?",
    "tracking": "You can follow your parcel here: https://example.com/track",
    "thanks": "Thank you! Is there anything else we can do for you?",
}
DEMO_TEMPLATES = {
    "order_update": "Hi {{1}}, your order {{2}} has shipped and arrives in 2 days.",
    "follow_up": "Hi {{1}}, we have news about your request. Reply to continue the conversation.",
}


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
    for name in DEMO_LABELS:
        Label.objects.get_or_create(tenant=tenant, name=name, defaults={"color": Label.COLORS[DEMO_LABELS.index(name)]})
    for shortcut, text in DEMO_REPLIES.items():
        CannedResponse.objects.get_or_create(tenant=tenant, shortcut=shortcut, defaults={"text": text})
    return tenant, existing is None


# A marketing template with every part a business uses to write first.
DEMO_OFFER = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvcG5n:demo"]}},
    {
        "type": "BODY",
        "text": "Hi {{first_name}}, our spring sale is on: {{discount}} off everything this week.",
        "example": {
            "body_text_named_params": [
                {"param_name": "first_name", "example": "Maria"},
                {"param_name": "discount", "example": "20%"},
            ]
        },
    },
    {"type": "FOOTER", "text": "Reply STOP to stop offers"},
    {
        "type": "BUTTONS",
        "buttons": [
            {
                "type": "URL",
                "text": "See the offer",
                "url": "https://example.com/offers/{{1}}",
                "example": ["https://example.com/offers/spring"],
            },
            {"type": "QUICK_REPLY", "text": "Not interested"},
        ],
    },
]


def add_demo_templates(fake):
    """What WhatsApp Manager would list for the demo account, approved and ready."""
    for name, body in DEMO_TEMPLATES.items():
        fake.add_template("DEMO_WABA", name, body)
    fake.add_template(
        "DEMO_WABA", "spring_offer", category="MARKETING", components=DEMO_OFFER, parameter_format="NAMED"
    )


# What the simulated customer shares from the simulator's phone.
DEMO_PLACE = {
    "latitude": "38.7075",
    "longitude": "-9.1365",
    "name": "Praça do Comércio",
    "address": "1100-148 Lisboa, Portugal",
}
DEMO_CONTACT_CARD = {
    "name": {"formatted_name": "João Silva", "first_name": "João", "last_name": "Silva"},
    "phones": [{"phone": "+351 912 345 678", "type": "CELL"}],
}


def add_demo_second_number(fake, webhook_url, app_secret, access_token):
    phone_number_id, display, name, pin = DEMO_SECOND_NUMBER
    fake.add_account_number(
        "DEMO_WABA",
        phone_number_id,
        display,
        webhook_url=webhook_url,
        app_secret=app_secret,
        verified_name=name,
        pin=pin,
        access_token=access_token,
    )
