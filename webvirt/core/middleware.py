from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers

# Where a signed-in user's chosen language rides in their session (set at sign-in and by the picker),
# so that choosing the page's language costs no query.
LANGUAGE_SESSION_KEY = "webvirt_language"


def supported_language(code):
    """`code` if webvirt speaks it, else None."""
    return code if code in dict(settings.LANGUAGES) else None


class LanguageMiddleware:
    """Speak the user's language: the one they chose (in their session), else the language cookie,
    else the browser's Accept-Language, else English."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = supported_language(request.session.get(LANGUAGE_SESSION_KEY))
        language = chosen or translation.get_language_from_request(request)
        with translation.override(language):  # for this request only: a thread's next one starts afresh
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class PrivatePagesMiddleware:
    """Pages for a signed-in user (and console tickets) are never kept by a browser or a proxy cache:
    after logging out, the back button or a shared machine must not show them again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            if response.has_header("Cache-Control"):
                patch_cache_control(response, no_store=True, private=True)
            else:
                add_never_cache_headers(response)
        return response


def allow_inline_styles(view):
    """Mark a view whose vendored code writes <style> elements (xterm, Swagger UI): its pages'
    policy allows inline styles; inline scripts stay forbidden everywhere."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.csp_inline_styles = True
        return response

    return wrapped


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class ContentSecurityPolicyMiddleware:
    """Send a Content-Security-Policy that forbids inline JavaScript, eval, frames of our pages and
    plug-ins: scripts, styles, images and connections come from this site (WebSockets to this host
    or to the websockify proxy, when one is set)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        host = request.get_host()
        connect = ["'self'", f"ws://{host}", f"wss://{host}", _origin(settings.WEBVIRT_WEBSOCKIFY_URL)]
        styles = "'self' 'unsafe-inline'" if getattr(response, "csp_inline_styles", False) else "'self'"
        policy = {
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": styles,
            "img-src": "'self' data:",
            "connect-src": " ".join(source for source in connect if source),
            "frame-ancestors": "'none'",
            "object-src": "'none'",
            "base-uri": "'self'",
            "form-action": "'self'",
        }
        response["Content-Security-Policy"] = "; ".join(f"{name} {value}" for name, value in policy.items())
        return response
