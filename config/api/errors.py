"""One error body for every API failure: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.exceptions import ServiceError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _field_messages(prefix: str, value: Any, into: dict[str, list[str]]) -> None:
    """Nested errors (a list item, a nested serializer) under dotted names: ``topics.1``, ``config.limit``."""
    if isinstance(value, dict):
        for key, item in value.items():
            _field_messages(f"{prefix}.{key}" if prefix else str(key), item, into)
    elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        for index, item in enumerate(value):
            if item:
                _field_messages(f"{prefix}.{index}", item, into)
    else:
        into.setdefault(prefix or "non_field_errors", []).extend(
            value if isinstance(value, list) else [value]
        )


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    detail = exc.detail
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        _field_messages("", _flatten(detail), fields)
        names = ", ".join(sorted(fields))
        return error_body("invalid", _("Invalid input in: %(fields)s.") % {"fields": names}, fields)
    messages = _flatten(detail if isinstance(detail, list) else [detail])
    return error_body("invalid", " ".join(messages), {"non_field_errors": messages})


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", _("Internal server error. It has been logged.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(str(code), str(exc.detail))
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body("not_found", _("No such endpoint: %(path)s") % {"path": request.path}), status=404
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("server_error", _("Internal server error. It has been logged.")), status=500
    )


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", _("Bad request.")), status=400)


def json_permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", _("Permission denied.")), status=403)


def dispatch_handler(api_view: Any, html_view: Any) -> Any:
    """Serve JSON errors under /api/ and Django's HTML pages elsewhere."""

    def handler(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        view = api_view if _is_api(request) else html_view
        return view(request, *args, **kwargs)

    return handler
