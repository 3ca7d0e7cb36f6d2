from django.utils.translation import gettext_lazy as _
from rest_framework import permissions


class TokenScope(permissions.BasePermission):
    """A read-only token may only read; sessions and read-write tokens may write (the policy decides what)."""

    message = _("This token is read-only.")

    def has_permission(self, request, view):
        token = request.auth
        if request.method in permissions.SAFE_METHODS or token is None or not hasattr(token, "writes"):
            return True
        return token.writes
