from django.urls import path

from . import views

app_name = "networks"
urlpatterns = [
    path("<int:host_id>/networks/", views.network_list, name="list"),
    path("<int:host_id>/networks/<int:network_id>/", views.network_detail, name="detail"),
    path("<int:host_id>/networks/<int:network_id>/<slug:action>/", views.network_action, name="action"),
]
