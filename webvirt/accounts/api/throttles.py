from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class PerTokenThrottle(SimpleRateThrottle):
    """WEBVIRT_API_RATE requests per token (per user for browser sessions, per address otherwise)."""

    scope = "api"

    def get_rate(self):
        return settings.WEBVIRT_API_RATE

    def get_cache_key(self, request, view):
        token = request.auth
        if token is not None and hasattr(token, "prefix"):
            ident = f"token:{token.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"address:{self.get_ident(request)}"
        return f"webvirt:throttle:{ident}"
