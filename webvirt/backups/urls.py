from django.urls import path

from . import views

app_name = "backups"
urlpatterns = [
    path("", views.backup_list, name="list"),
    path("pools/", views.backup_pools, name="pools"),
    path("pools/<id:host_id>/", views.backup_pool_set, name="pool-set"),
    path("guests/<id:pk>/now/", views.backup_now, name="now"),
    path("guests/<id:pk>/cancel/", views.backup_cancel, name="cancel"),
    path("guests/<id:pk>/schedule/", views.schedule_set, name="schedule"),
    path("<id:pk>/restore/", views.restore, name="restore"),
    path("<id:pk>/delete/", views.delete, name="delete"),
    path("<id:pk>/download/<slug:target>/", views.download, name="download"),
]
