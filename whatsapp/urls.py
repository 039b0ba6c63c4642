from django.urls import path

from . import views

app_name = "whatsapp"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("inbox/c/<int:conversation_id>/send/", views.send, name="send"),
    path("inbox/c/<int:conversation_id>/read/", views.mark_read, name="mark_read"),
]
