"""One shape for every API error: {"code", "message", "fields"}; bad input is a 400, never a 500."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views import defaults
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
        message = " ".join(general) or _("Some values are not valid: see fields.")
        body = {"code": getattr(exc, "webvirt_code", "invalid"), "message": message, "fields": fields}
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        if isinstance(exc, Http404):
            code, message = "not_found", _("Not found.")
        elif isinstance(exc, PermissionDenied):
            code, message = "permission_denied", str(exc) or _("You may not do this.")
        else:
            message = str(exc.detail) if isinstance(exc, exceptions.APIException) else str(exc)
        body = {"code": code if isinstance(code, str) else "error", "message": message, "fields": {}}
    return Response(body, status=response.status_code, headers=_headers(response))


def _headers(response):
    return {key: value for key, value in response.items() if key in ("WWW-Authenticate", "Retry-After", "Allow")}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message", "fields"],
    "properties": {
        "code": {"type": "string", "description": "Stable, for programs: e.g. invalid, not_found, quota_exceeded."},
        "message": {"type": "string", "description": "For people."},
        "fields": {
            "type": "object",
            "description": "Per field, what is wrong with the value given.",
            "additionalProperties": {},
        },
    },
}
ERROR_STATUSES = {
    "400": "The input is not valid (see fields), or the action cannot be done now.",
    "401": "No credentials, or a token that is not valid.",
    "403": "You may see this but not do that (or the token is read-only).",
    "404": "Not found, or not yours to see.",
    "429": "Too many requests for this token; see Retry-After.",
}


def document_errors(result, generator, request, public):
    """drf-spectacular hook: every operation may answer with the one error shape."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(status, {"description": description, "content": reference})
    return result


def _json_or_page(status, code, message, page_handler):
    def handler(request, exception=None):
        if request.path_info.startswith("/api/"):
            return JsonResponse({"code": code, "message": _(message), "fields": {}}, status=status)
        return page_handler(request, exception) if exception is not None else page_handler(request)

    return handler


# Django's own error views answer pages; under /api/ they answer the API's error shape instead.
not_found = _json_or_page(404, "not_found", gettext_noop("Not found."), defaults.page_not_found)
bad_request = _json_or_page(400, "invalid", gettext_noop("The request could not be understood."), defaults.bad_request)
forbidden = _json_or_page(403, "permission_denied", gettext_noop("You may not do this."), defaults.permission_denied)
server_error = _json_or_page(
    500, "server_error", gettext_noop("Something went wrong on our side."), defaults.server_error
)
