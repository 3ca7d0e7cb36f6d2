"""The audit log: one function writes it, so every action, login and change is recorded alike.

The request's client address is kept in a context variable by AuditContextMiddleware, so services
need not pass requests around.
"""

from contextvars import ContextVar

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils.translation import pgettext_lazy

from .models import AuditEvent

# An event's outcome (kept in English in the log) -> its words on pages.
OUTCOMES = {
    "ok": pgettext_lazy("audit outcome", "ok"),
    "requested": pgettext_lazy("audit outcome", "requested"),
    "succeeded": pgettext_lazy("audit outcome", "succeeded"),
    "failed": pgettext_lazy("audit outcome", "failed"),
}

# Where the request came from: its address, and whether through the API (and with which token).
_origin = ContextVar("webvirt_audit_origin", default=None)


def set_origin(**values):
    """Add to the current request's origin (e.g. via="api", token=...) for the records it writes."""
    origin = _origin.get()
    if origin is not None:
        origin.update(values)


def record(actor, action, target="", *, outcome="ok", **details):
    user = actor if getattr(actor, "is_authenticated", False) else None
    origin = _origin.get() or {}
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "",
        action=action,
        target=str(target)[:255],
        outcome=outcome,
        ip=origin.get("ip"),
        via=origin.get("via", "system"),
        token=origin.get("token", "")[:100],
        details=details,
    )


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = {"ip": request.META.get("REMOTE_ADDR") or None, "via": "web"}
        if request.path_info.startswith("/api/"):
            origin["via"] = "api"
        context = _origin.set(origin)
        try:
            return self.get_response(request)
        finally:
            _origin.reset(context)


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    record(user, "login")


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(user, "logout")


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # django-axes refuses a name locked out from this address before any password is checked.
    locked = getattr(request, "axes_locked_out", False)
    reason = "locked out from this address" if locked else "wrong user name or password"
    record(None, "login", credentials.get("username", ""), outcome="failed", reason=reason)
