from django.urls import path

from .consumers import SerialConsumer, VncConsumer

websocket_urlpatterns = [
    path("ws/console/<id:guest_id>/", VncConsumer.as_asgi()),
    path("ws/serial/<id:guest_id>/", SerialConsumer.as_asgi()),
]
