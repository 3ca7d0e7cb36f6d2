from django.urls import path

from . import views

app_name = "storage"
urlpatterns = [
    path("<id:host_id>/storage/", views.pool_list, name="pools"),
    path("<id:host_id>/storage/<id:pool_id>/", views.pool_detail, name="pool"),
    path("<id:host_id>/storage/<id:pool_id>/xml/", views.pool_xml, name="pool-xml"),
    path("<id:host_id>/storage/<id:pool_id>/<slug:action>/", views.pool_action, name="pool-action"),
    path(  # before volume-action, whose <slug:action> would take "download" too
        "<id:host_id>/storage/<id:pool_id>/volumes/<id:volume_id>/download/",
        views.volume_download,
        name="volume-download",
    ),
    path(
        "<id:host_id>/storage/<id:pool_id>/volumes/<id:volume_id>/<slug:action>/",
        views.volume_action,
        name="volume-action",
    ),
]
