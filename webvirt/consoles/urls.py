from django.urls import path

from . import views

app_name = "consoles"
urlpatterns = [
    path("<id:pk>/console/", views.console_page, {"kind": "vnc"}, name="vnc"),
    path("<id:pk>/serial/", views.console_page, {"kind": "serial"}, name="serial"),
    path("<id:pk>/<str:kind>/ticket/", views.console_ticket, name="ticket"),
    path("<id:pk>/<str:kind>/presence/", views.presence_list, name="presence"),
]
