from django.urls import path

from .consumers import SerialConsumer, VncConsumer

websocket_urlpatterns = [
    path("ws/console/<int:guest_id>/", VncConsumer.as_asgi()),
    path("ws/serial/<int:guest_id>/", SerialConsumer.as_asgi()),
]
