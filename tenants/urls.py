from django.urls import path

from . import audit_views, invitation_views, security_views, views

app_name = "tenants"

urlpatterns = [
    path("members/", views.members, name="members"),
    path("members/<int:member_id>/role/", views.change_role, name="change_role"),
    path("members/<int:member_id>/remove/", views.remove_member, name="remove_member"),
    path(
        "members/invitations/<int:invitation_id>/resend/", invitation_views.resend_invitation, name="resend_invitation"
    ),
    path(
        "members/invitations/<int:invitation_id>/revoke/", invitation_views.revoke_invitation, name="revoke_invitation"
    ),
    path("connection/", views.connection, name="connection"),
    path("security/", security_views.security_settings, name="security"),
    path("audit/", audit_views.audit_log, name="audit"),
]
