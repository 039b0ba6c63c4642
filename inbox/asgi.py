"""One ASGI application for HTTP and websockets (Daphne or Uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inbox.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from whatsapp import webhook_asgi  # noqa: E402
from whatsapp.routing import websocket_urlpatterns  # noqa: E402

# Webhook POSTs skip Django's request cycle, which costs ~5x the work itself (bench/).
http_app = webhook_asgi.WebhookFastPath(django_asgi_app) if webhook_asgi.enabled() else django_asgi_app

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
