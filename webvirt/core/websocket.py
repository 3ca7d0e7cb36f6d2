"""What every WebSocket of ours shares: the session in the scope, the user's language, and the
Origin check."""

from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.sessions import InstanceSessionWrapper, SessionMiddleware
from django.conf import settings
from django.http.request import validate_host
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

from .middleware import LANGUAGE_SESSION_KEY, supported_language

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


def scope_language(scope):
    """The language a socket speaks (its close reasons), chosen as LanguageMiddleware chooses a page's."""
    session = scope.get("session")
    chosen = supported_language(session.get(LANGUAGE_SESSION_KEY)) if session is not None else None
    cookie = scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME)
    headers = dict(scope.get("headers", []))
    accepted = [code for code, _ in parse_accept_lang_header(headers.get(b"accept-language", b"").decode("latin-1"))]
    for code in (chosen, cookie, *accepted):
        if code and code != "*":
            try:
                return translation.get_supported_language_variant(code)
            except LookupError:
                continue
    return settings.LANGUAGE_CODE


class WebSocketSessionMiddleware(SessionMiddleware):
    """The session (hence the user) in the scope, the user's language active, and the server's own
    `send` left as it is.

    Channels' session middleware wraps `send` to save a modified session before an HTTP response
    starts; a WebSocket sends no such response, yet the wrapper would inspect the session on every
    frame of a console's stream."""

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        language = await database_sync_to_async(scope_language)(wrapper.scope)  # reads the session
        with translation.override(language):
            return await self.inner(wrapper.scope, receive, send)
