"""Message templates of every kind, as Meta lists them (components with their examples),
for the fake Graph API to check sends against and the inbox to sync."""

WELCOME_OFFER = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvanBlZw==:ARb"]}},
    {
        "type": "BODY",
        "text": "Hi {{first_name}}, your {{discount}} discount is waiting.",
        "example": {
            "body_text_named_params": [
                {"param_name": "first_name", "example": "Ana"},
                {"param_name": "discount", "example": "20%"},
            ]
        },
    },
    {"type": "FOOTER", "text": "Reply STOP to opt out"},
    {
        "type": "BUTTONS",
        "buttons": [
            {
                "type": "URL",
                "text": "See the offer",
                "url": "https://shop.example/offers/{{1}}",
                "example": ["https://shop.example/offers/spring"],
            }
        ],
    },
]

ORDER_SHIPPED = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#42"]}},
    {"type": "BODY", "text": "Hi {{1}}, it arrives on {{2}}.", "example": {"body_text": [["Ana", "Monday"]]}},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Thanks"},
            {"type": "QUICK_REPLY", "text": "Change date"},
            {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550001111"},
        ],
    },
]

STORE_VISIT = [
    {"type": "HEADER", "format": "LOCATION"},
    {"type": "BODY", "text": "Your table is ready at our store."},
]

INVOICE = [
    {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::YXBwbGljYXRpb24vcGRm:ARb"]}},
    {"type": "BODY", "text": "Your invoice is attached."},
]

PRODUCT_VIDEO = [
    {"type": "HEADER", "format": "VIDEO", "example": {"header_handle": ["4::dmlkZW8vbXA0:ARb"]}},
    {"type": "BODY", "text": "See it in action."},
]

COUPON = [
    {"type": "BODY", "text": "Use this code at checkout."},
    {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SAVE20"}]},
]

LOGIN_CODE = [
    {"type": "BODY", "text": "*{{1}}* is your verification code.", "example": {"body_text": [["123456"]]}},
    {"type": "FOOTER", "text": "This code expires in 10 minutes."},
    {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
]

# name -> (category, components, parameter_format)
TEMPLATES = {
    "welcome_offer": ("MARKETING", WELCOME_OFFER, "NAMED"),
    "order_shipped": ("UTILITY", ORDER_SHIPPED, None),
    "store_visit": ("UTILITY", STORE_VISIT, None),
    "invoice_ready": ("UTILITY", INVOICE, None),
    "product_video": ("MARKETING", PRODUCT_VIDEO, None),
    "coupon": ("MARKETING", COUPON, None),
    "login_code": ("AUTHENTICATION", LOGIN_CODE, None),
}


def add_templates(fake, waba_id, names=None):
    """Add the templates (all, or `names`) to the fake Graph API's account, approved."""
    for name in names or TEMPLATES:
        category, components, parameter_format = TEMPLATES[name]
        fake.add_template(
            waba_id, name, language="en_US", category=category, components=components, parameter_format=parameter_format
        )
