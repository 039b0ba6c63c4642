from django.urls import path

from whatsapp.contacts import privacy_views
from whatsapp.contacts import views as contact_views
from whatsapp.conversations import views
from whatsapp.conversations import views as conversation_views
from whatsapp.logs import views as log_views
from whatsapp.media import views as media_views
from whatsapp.numbers import views as number_views
from whatsapp.search import views as search_views
from whatsapp.sending import views as sending_views
from whatsapp.team import views as team_views
from whatsapp.templates_admin import views as template_views

app_name = "whatsapp"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/counts/", views.counts, name="inbox_counts"),
    path("inbox/new/", sending_views.new_conversation, name="new_conversation"),
    path("inbox/new/lookup/", sending_views.new_conversation_lookup, name="new_conversation_lookup"),
    path("inbox/new/contacts/", sending_views.new_conversation_contacts, name="new_conversation_contacts"),
    path("inbox/c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("inbox/c/<int:conversation_id>/send/", sending_views.send, name="send"),
    path("inbox/c/<int:conversation_id>/read/", views.mark_read, name="mark_read"),
    path("inbox/c/<int:conversation_id>/m/<int:message_id>/resend/", sending_views.resend, name="resend"),
    path("inbox/c/<int:conversation_id>/m/<int:message_id>/react/", sending_views.react, name="react"),
    path("inbox/c/<int:conversation_id>/status/", conversation_views.set_status, name="set_status"),
    path("inbox/c/<int:conversation_id>/assign/", conversation_views.assign, name="assign"),
    path("inbox/c/<int:conversation_id>/labels/<int:label_id>/", conversation_views.toggle_label, name="toggle_label"),
    path("inbox/c/<int:conversation_id>/notes/", conversation_views.add_note, name="add_note"),
    path("inbox/c/<int:conversation_id>/typing/", conversation_views.typing, name="typing"),
    path("inbox/c/<int:conversation_id>/template/", sending_views.send_template, name="send_template"),
    path("inbox/c/<int:conversation_id>/interactive/", sending_views.send_interactive, name="send_interactive"),
    path("settings/", team_views.team_settings, name="team_settings"),
    path("settings/consent/", team_views.consent_settings, name="consent_settings"),
    path("settings/labels/", team_views.add_label, name="add_label"),
    path("settings/labels/<int:label_id>/delete/", team_views.delete_label, name="delete_label"),
    path("settings/replies/", team_views.save_canned, name="save_canned"),
    path("settings/replies/<int:canned_id>/delete/", team_views.delete_canned, name="delete_canned"),
    path("templates/", team_views.templates, name="templates"),
    path("templates/sync/", team_views.sync_templates, name="sync_templates"),
    path("templates/new/", template_views.new_template, name="template_new"),
    path("templates/<int:template_id>/edit/", template_views.edit_template, name="template_edit"),
    path("templates/<int:template_id>/delete/", template_views.delete_template, name="template_delete"),
    path("numbers/", number_views.number_list, name="numbers"),
    path("numbers/add/", number_views.add_number, name="number_add"),
    path("numbers/<int:number_id>/remove/", number_views.remove_number, name="number_remove"),
    path("numbers/<int:number_id>/profile/", number_views.profile, name="number_profile"),
    path("inbox/c/<int:conversation_id>/send-file/", sending_views.send_file, name="send_file"),
    path("media/<int:media_file_id>/", media_views.serve_file, name="media"),
    path("media/<int:media_file_id>/retry/", media_views.retry_download, name="media_retry"),
    path("logs/", log_views.logs, name="logs"),
    path("logs/graph/", log_views.graph_calls, name="graph_calls"),
    path("logs/rejected/", log_views.rejects, name="log_rejects"),
    path("logs/rejected/<int:reject_id>/", log_views.reject_detail, name="log_reject"),
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
    path("contacts/<int:contact_id>/opt-in/", contact_views.opt_in, name="contact_opt_in"),
    path("contacts/<int:contact_id>/opt-out/", contact_views.opt_out, name="contact_opt_out"),
    path("search/", search_views.search_page, name="search"),
    path("contacts/<int:contact_id>/export/", privacy_views.contact_export, name="contact_export"),
    path("contacts/<int:contact_id>/delete/", privacy_views.contact_delete, name="contact_delete"),
]
