"""What every WebSocket of ours shares: the session in the scope, and the Origin check."""

from urllib.parse import urlsplit

from channels.sessions import InstanceSessionWrapper, SessionMiddleware
from django.conf import settings
from django.http.request import validate_host

PAGE_SCHEMES = {"ws": "http", "wss": "https"}


def origin_allowed(headers, *, scheme):
    """Browsers always send Origin on WebSockets. As Django's CSRF check does for forms, it must be
    the origin the socket was opened on (same scheme, host and port: an https page never opens an
    http socket) or a trusted one, on an allowed host. `scheme` is the socket's own, ws or wss."""
    headers = dict(headers)
    origin = headers.get(b"origin", b"").decode("latin-1")
    parts = urlsplit(origin) if origin else None
    allowed_host = parts is not None and validate_host(parts.hostname or "", settings.ALLOWED_HOSTS)
    same_origin = (
        parts is not None
        and parts.scheme == PAGE_SCHEMES.get(scheme)
        and parts.netloc == headers.get(b"host", b"").decode("latin-1")
    )
    return bool(allowed_host and (same_origin or origin in settings.CSRF_TRUSTED_ORIGINS))


class WebSocketSessionMiddleware(SessionMiddleware):
    """The session (hence the user) in the scope, and the server's own `send` left as it is.

    Channels' session middleware wraps `send` to save a modified session before an HTTP response
    starts; a WebSocket sends no such response, yet the wrapper would inspect the session on every
    frame of a console's stream."""

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)
