from django.urls import path

from . import audit_views, security_views, views

app_name = "tenants"

urlpatterns = [
    path("members/", views.members, name="members"),
    path("members/<int:member_id>/role/", views.change_role, name="change_role"),
    path("members/<int:member_id>/remove/", views.remove_member, name="remove_member"),
    path("connection/", views.connection, name="connection"),
    path("security/", security_views.security_settings, name="security"),
    path("audit/", audit_views.audit_log, name="audit"),
]
