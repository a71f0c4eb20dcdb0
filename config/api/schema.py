"""The OpenAPI schema view: its errors (401 for an anonymous caller) in the JSON error body, like every
other endpoint, whichever format (YAML or JSON) the schema itself was asked in."""

from __future__ import annotations

from typing import Any

from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    def handle_exception(self, exc: Exception) -> Response:
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        if response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

# Every operation may answer these in the one error body (config/api/errors.py); writes also 409/413.
_ERRORS = {
    "400": "Invalid input; error.fields names each field.",
    "401": "Not authenticated (send a session cookie or Authorization: Token <token>).",
    "403": "The role lacks the permission.",
    "404": "No such object.",
    "405": "Method not allowed.",
    "429": "Throttled; see the Retry-After header.",
}
_WRITE_ERRORS = {
    "409": "Refused in the current state; error.code says why.",
    "413": "Request body too large (API_MAX_BODY_BYTES).",
}


def error_responses_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing: document the error responses of every operation with the error
    schema (an operation's own description of a code, where it has one, is kept)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = {**_ERRORS, **(_WRITE_ERRORS if method in ("post", "put", "patch", "delete") else {})}
            for code, description in errors.items():
                operation["responses"].setdefault(code, {"description": description, "content": ref})
    return result


BATCH_EVENTS_PATH = {
    "get": {
        "operationId": "batches_events",
        "summary": "Follow a generation batch as server-sent events",
        "description": "text/event-stream of the batch's progress (events `progress`, `item`, `batch_end`) "
        "until `batch_end` or the client leaves. Serve the app under ASGI. Needs posting.view_generationbatch.",
        "tags": ["batches"],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "security": [{"knoxApiToken": []}, {"cookieAuth": []}],
        "responses": {
            "200": {
                "description": "The event stream.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            "401": {
                "description": "Not authenticated.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "403": {
                "description": "No permission.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "404": {
                "description": "No such batch.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "405": {
                "description": "Only GET.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
}


def batch_events_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The batch event stream is a plain async Django view (outside DRF): document it here."""
    result.setdefault("paths", {}).setdefault("/api/batches/{id}/events", BATCH_EVENTS_PATH)
    return result
