from django.urls import path

from . import views

app_name = "hooks"

urlpatterns = [
    path("", views.endpoints, name="endpoints"),
    path("new/", views.create, name="create"),
    path("<int:endpoint_id>/", views.endpoint, name="endpoint"),
    path("<int:endpoint_id>/edit/", views.edit, name="edit"),
    path("<int:endpoint_id>/rotate/", views.rotate, name="rotate"),
    path("<int:endpoint_id>/enable/", views.enable, name="enable"),
    path("<int:endpoint_id>/disable/", views.disable, name="disable"),
    path("<int:endpoint_id>/delete/", views.delete, name="delete"),
    path("<int:endpoint_id>/test/", views.send_test, name="test"),
    path("<int:endpoint_id>/redeliver/", views.redeliver_failed, name="redeliver_failed"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/", views.delivery, name="delivery"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver/", views.redeliver, name="redeliver"),
]
