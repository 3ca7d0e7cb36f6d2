from channels.auth import AuthMiddleware
from channels.routing import URLRouter
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from django.urls import path

from .consumers import SerialConsumer, VncConsumer

websocket_urlpatterns = [
    path("ws/console/<id:guest_id>/", VncConsumer.as_asgi()),
    path("ws/serial/<id:guest_id>/", SerialConsumer.as_asgi()),
]


class WebSocketSessionMiddleware(SessionMiddleware):
    """The session (hence the user) in the scope, and the server's own `send` left as it is.

    Channels' session middleware wraps `send` to save a modified session before an HTTP response
    starts; a WebSocket sends no such response, yet the wrapper would inspect the session on every
    frame of a console's stream."""

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


def websocket_application():
    """Cookies, then the session, then the user, then the console consumers."""
    return CookieMiddleware(WebSocketSessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns))))
