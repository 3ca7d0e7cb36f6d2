from django.urls import path

from . import views

app_name = "storage"
urlpatterns = [
    path("<int:host_id>/storage/", views.pool_list, name="pools"),
    path("<int:host_id>/storage/<int:pool_id>/", views.pool_detail, name="pool"),
    path("<int:host_id>/storage/<int:pool_id>/<slug:action>/", views.pool_action, name="pool-action"),
    path(
        "<int:host_id>/storage/<int:pool_id>/volumes/<int:volume_id>/<slug:action>/",
        views.volume_action,
        name="volume-action",
    ),
]
