from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from webvirt.core import audit

from .. import tokens


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer wvt_…` (or `Token wvt_…`): a personal API token."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as `Authorization: Bearer <token>`."))
        token = tokens.authenticate(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is not valid, has expired, or was revoked."))
        audit.set_origin(via="api", token=f"{token.name} ({token.prefix})")
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="webvirt"'


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token (wvt_…)."}
