"""What every API view shares: tokens or sessions, the token's scope, throttling, the error shape,
and no redirect to the login page (LoginRequiredMiddleware is for pages)."""

from rest_framework import generics, viewsets
from rest_framework.views import APIView


class _NoLoginRedirect:
    @classmethod
    def as_view(cls, *args, **kwargs):
        view = super().as_view(*args, **kwargs)
        view.login_required = False  # DRF answers 401/403 itself
        return view


class ApiView(_NoLoginRedirect, APIView):
    pass


class GenericApiView(_NoLoginRedirect, generics.GenericAPIView):
    pass


class ReadOnlyViewSet(_NoLoginRedirect, viewsets.ReadOnlyModelViewSet):
    lookup_value_converter = "id"  # database ids only (core/converters.py): anything else is a 404


class ViewSet(_NoLoginRedirect, viewsets.GenericViewSet):
    lookup_value_converter = "id"
