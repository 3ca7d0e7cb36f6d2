"""One shape for every API error: {"code", "message", "fields"}; bad input is a 400, never a 500."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail):
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [str(item) if not isinstance(item, dict | list) else _flatten(item) for item in detail]
    return [str(detail)]


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):  # a service's refusal: quota, state, names in use
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        code = getattr(exc, "code", None) or "invalid"
        exc = exceptions.ValidationError(detail=fields or {"non_field_errors": exc.messages})
        exc.webvirt_code = code
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail) if isinstance(exc.detail, dict) else {"non_field_errors": _flatten(exc.detail)}
        general = fields.pop("non_field_errors", [])
        message = " ".join(general) or "Some values are not valid: see fields."
        body = {"code": getattr(exc, "webvirt_code", "invalid"), "message": message, "fields": fields}
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        if isinstance(exc, Http404):
            code, message = "not_found", "Not found."
        elif isinstance(exc, PermissionDenied):
            code, message = "permission_denied", str(exc) or "You may not do this."
        else:
            message = str(exc.detail) if isinstance(exc, exceptions.APIException) else str(exc)
        body = {"code": code if isinstance(code, str) else "error", "message": message, "fields": {}}
    return Response(body, status=response.status_code, headers=_headers(response))


def _headers(response):
    return {key: value for key, value in response.items() if key in ("WWW-Authenticate", "Retry-After", "Allow")}
