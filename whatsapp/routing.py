from django.urls import path

from whatsapp.realtime.consumers import InboxConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:slug>/", InboxConsumer.as_asgi()),
]
