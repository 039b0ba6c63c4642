from django.urls import path

from . import contact_views, log_views, search_views, views

app_name = "whatsapp"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("inbox/c/<int:conversation_id>/send/", views.send, name="send"),
    path("inbox/c/<int:conversation_id>/read/", views.mark_read, name="mark_read"),
    path("inbox/c/<int:conversation_id>/m/<int:message_id>/resend/", views.resend, name="resend"),
    path("logs/", log_views.logs, name="logs"),
    path("logs/graph/", log_views.graph_calls, name="graph_calls"),
    path("logs/<int:event_id>/", log_views.event_detail, name="log_event"),
    path("logs/<int:event_id>/replay/", log_views.replay, name="log_replay"),
    # Contacts and search
    path("contacts/", contact_views.contact_list, name="contacts"),
    path("contacts/export.csv", contact_views.export, name="contacts_export"),
    path("contacts/import/", contact_views.import_contacts, name="contacts_import"),
    path("contacts/<int:contact_id>/", contact_views.contact_detail, name="contact"),
    path("contacts/<int:contact_id>/edit/", contact_views.edit, name="contact_edit"),
    path("contacts/<int:contact_id>/block/", contact_views.block, name="contact_block"),
    path("contacts/<int:contact_id>/unblock/", contact_views.unblock, name="contact_unblock"),
    path("search/", search_views.search_page, name="search"),
]
