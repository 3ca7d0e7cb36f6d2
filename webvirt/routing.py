"""Every WebSocket route, behind cookies, the session and the user (as urls.py is for HTTP)."""

from channels.auth import AuthMiddleware
from channels.routing import URLRouter
from channels.sessions import CookieMiddleware
from django.urls import path

from webvirt.consoles.routing import websocket_urlpatterns as console_patterns
from webvirt.core.live import LiveConsumer
from webvirt.core.websocket import WebSocketSessionMiddleware

websocket_urlpatterns = [*console_patterns, path("ws/live/", LiveConsumer.as_asgi())]


def websocket_application():
    return CookieMiddleware(WebSocketSessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns))))
