from django.urls import path

from . import views

app_name = "hosts"
urlpatterns = [
    path("", views.host_list, name="list"),
    path("add/", views.host_form, name="add"),
    path("<id:pk>/", views.host_detail, name="detail"),
    path("<id:pk>/edit/", views.host_form, name="edit"),
    path("<id:pk>/delete/", views.host_delete, name="delete"),
    path("<id:pk>/resync/", views.host_resync, name="resync"),
    path("<id:pk>/maintenance/enter/", views.host_maintenance_enter, name="maintenance-enter"),
    path("<id:pk>/maintenance/leave/", views.host_maintenance_leave, name="maintenance-leave"),
    path("<id:pk>/evacuate/", views.host_evacuate, name="evacuate"),
]
