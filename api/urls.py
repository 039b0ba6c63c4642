from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("api-keys/", views.api_keys, name="keys"),
    path("api-keys/<int:key_id>/revoke/", views.revoke, name="revoke"),
]
