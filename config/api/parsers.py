"""The API's JSON parser: a size limit (413), a depth limit (400) and no NUL or unpaired surrogate in any
string (PostgreSQL's jsonb and text refuse both: without this check they surfaced as 500s).

Limits are settings (API_MAX_BODY_BYTES, API_MAX_JSON_DEPTH); every refusal uses the one error body.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

_UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"
    default_detail = "Request body too large."


def _string_problem(value: str) -> str:
    if "\x00" in value:
        return _("Contains a NUL character (U+0000).")
    if _UNPAIRED_SURROGATE.search(value):
        return _("Contains an unpaired surrogate (U+D800–U+DFFF): not valid Unicode text.")
    return ""


def _children(value: Any, path: str) -> list[tuple[str, Any, str | None]]:
    if isinstance(value, Mapping):
        return [(f"{path}.{key}" if path else str(key), item, str(key)) for key, item in value.items()]
    if isinstance(value, list):
        return [(f"{path}[{index}]" if path else str(index), item, None) for index, item in enumerate(value)]
    return []


def json_problems(data: Any, *, max_depth: int) -> dict[str, list[str]]:
    """Field path -> what is wrong, for nesting deeper than ``max_depth`` and bad strings (iterative)."""
    problems: dict[str, list[str]] = {}
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > max_depth:
            problems[path or "non_field_errors"] = [
                _("Nested deeper than %(depth)d levels.") % {"depth": max_depth}
            ]
            continue
        if isinstance(value, str) and _string_problem(value):
            problems[path or "non_field_errors"] = [_string_problem(value)]
        for child_path, child, key in _children(value, path):
            if key is not None and _string_problem(key):
                problems[child_path] = [_string_problem(key)]
            stack.append((child_path, child, depth + 1))
    return problems


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(_("The request body is larger than %(limit)d bytes.") % {"limit": limit})
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError(_("The JSON is nested too deeply.")) from exc
        problems = json_problems(data, max_depth=settings.API_MAX_JSON_DEPTH)
        if problems:
            raise exceptions.ValidationError(problems)
        return data
