from django.urls import path

from . import views

app_name = "guests"
urlpatterns = [
    path("", views.guest_list, name="list"),
    path("<int:pk>/", views.guest_detail, name="detail"),
    path("<int:pk>/power/<slug:action>/", views.guest_power, name="power"),
    path("<int:pk>/delete/", views.guest_delete, name="delete"),
]
