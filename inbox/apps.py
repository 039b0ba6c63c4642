from django.contrib.admin.apps import AdminConfig


class InboxAdminConfig(AdminConfig):
    """Django admin, with the site that sends logins through the app's two steps."""

    default_site = "inbox.admin_site.InboxAdminSite"
