from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from api.v1 import api as api_v1
from tenants.invitation_views import invitation
from whatsapp.webhook.views import whatsapp_webhook

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("invitations/<str:token>/", invitation, name="invitation"),
    path("webhooks/whatsapp/<slug:slug>/", whatsapp_webhook, name="whatsapp_webhook"),
    path("t/<slug:slug>/", include("whatsapp.urls")),
    path("t/<slug:slug>/dashboard/", include("dashboard.urls")),
    path("t/<slug:slug>/", include("tenants.urls")),
    path("t/<slug:slug>/settings/", include("api.urls")),
    path("api/v1/", api_v1.urls),
    path("t/<slug:slug>/webhooks/", include("hooks.urls")),
]

if settings.DEMO_MODE:
    urlpatterns.append(path("simulator/", include("whatsapp.simulator.urls")))
