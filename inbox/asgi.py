"""One ASGI application for HTTP and websockets (Daphne or Uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inbox.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from whatsapp.routing import websocket_urlpatterns  # noqa: E402
from whatsapp.webhook import asgi as webhook_asgi  # noqa: E402

from .body_limit import RequestBodyLimit  # noqa: E402

# The other pages anyone can flood get bounded bodies (see body_limit.py).
BODY_LIMITS = {
    "/accounts/": settings.ACCOUNTS_MAX_BODY_BYTES,
    "/invitations/": settings.ACCOUNTS_MAX_BODY_BYTES,
    "/api/": settings.API_MAX_BODY_BYTES,
    "/api/v1/media": settings.API_MEDIA_MAX_BODY_BYTES,
    "/api/v1/contacts/imports": settings.API_MEDIA_MAX_BODY_BYTES,
}

application = ProtocolTypeRouter(
    {
        # The webhook's URL skips Django's request cycle, which costs ~5x the work itself (bench/),
        # and bounds its bodies itself.
        "http": webhook_asgi.WebhookEndpoint(
            RequestBodyLimit(django_asgi_app, BODY_LIMITS, problem_prefixes=["/api/"])
        ),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
