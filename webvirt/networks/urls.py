from django.urls import path

from . import views

app_name = "networks"
urlpatterns = [
    path("<id:host_id>/networks/", views.network_list, name="list"),
    path("<id:host_id>/networks/<id:network_id>/", views.network_detail, name="detail"),
    path("<id:host_id>/networks/<id:network_id>/xml/", views.network_xml, name="xml"),
    path("<id:host_id>/networks/<id:network_id>/<slug:action>/", views.network_action, name="action"),
]
