"""Every page a person reaches, for the tests that hold each page to a bar (fits a phone,
no console error, a JavaScript budget): paths under /t/acme/, then the account's own pages."""

TENANT_PAGES = [
    "inbox/",
    "contacts/",
    "contacts/import/",
    "search/?q=hello",
    "dashboard/",
    "logs/",
    "logs/graph/",
    "logs/rejected/",
    "settings/",
    "templates/",
    "members/",
    "connection/",
    "security/",
    "audit/",
]
ACCOUNT_PAGES = ["/accounts/2fa/", "/accounts/password/"]
