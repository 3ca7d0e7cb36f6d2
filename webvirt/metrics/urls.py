from django.urls import path

from . import views

app_name = "metrics"
urlpatterns = [
    path("guests/<id:pk>/", views.guest_metrics, name="guest"),
    path("hosts/<id:pk>/", views.host_metrics, name="host"),
]
