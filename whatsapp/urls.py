from django.urls import path

from . import log_views, media_views, views

app_name = "whatsapp"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("inbox/c/<int:conversation_id>/send/", views.send, name="send"),
    path("inbox/c/<int:conversation_id>/read/", views.mark_read, name="mark_read"),
    path("inbox/c/<int:conversation_id>/send-file/", media_views.send_file, name="send_file"),
    path("media/<int:media_file_id>/", media_views.serve_file, name="media"),
    path("media/<int:media_file_id>/retry/", media_views.retry_download, name="media_retry"),
    path("logs/", log_views.logs, name="logs"),
    path("logs/<int:event_id>/", log_views.event_detail, name="log_event"),
    path("logs/<int:event_id>/replay/", log_views.replay, name="log_replay"),
]
