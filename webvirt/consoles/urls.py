from django.urls import path

from . import views

app_name = "consoles"
urlpatterns = [
    path("<int:pk>/console/", views.console_page, {"kind": "vnc"}, name="vnc"),
    path("<int:pk>/serial/", views.console_page, {"kind": "serial"}, name="serial"),
    path("<int:pk>/<str:kind>/ticket/", views.console_ticket, name="ticket"),
]
