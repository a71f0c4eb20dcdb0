"""Strict readers for environment variables.

django-environ parses URLs well but silently reads ``DEBUG=maybe`` as false and reports a bad integer
without naming the variable. Every reader here fails at start-up with ImproperlyConfigured naming the
variable and the value that was wrong.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import environ
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_DB_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


class Env:
    """Reads typed values from a mapping (``os.environ`` by default)."""

    def __init__(self, source: Mapping[str, str] | None = None) -> None:
        self.source = os.environ if source is None else source

    def raw(self, name: str) -> str | None:
        value = self.source.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def _parse(self, name: str, default: T, parser: Callable[[str], T], expected: str) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parser(value)
        except (ValueError, TypeError, KeyError) as exc:
            raise ImproperlyConfigured(f"{name} must be {expected}, got {value!r} ({exc}).") from exc

    def get_str(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        return default if value is None else value

    def get_bool(self, name: str, default: bool) -> bool:
        def parse(value: str) -> bool:
            lowered = value.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError("not a boolean")

        return self._parse(name, default, parse, "true or false (1/0, yes/no, on/off)")

    def get_int(self, name: str, default: int, *, minimum: int | None = None) -> int:
        def parse(value: str) -> int:
            number = int(value)
            if minimum is not None and number < minimum:
                raise ValueError(f"must be at least {minimum}")
            return number

        return self._parse(name, default, parse, "a whole number")

    def get_float(self, name: str, default: float, *, minimum: float | None = None) -> float:
        def parse(value: str) -> float:
            number = float(value)
            if minimum is not None and number < minimum:
                raise ValueError(f"must be at least {minimum}")
            return number

        return self._parse(name, default, parse, "a number")

    def get_list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def get_db_url(self, name: str, default: str) -> dict[str, Any]:
        value = self.raw(name) or default

        def parse(url: str) -> dict[str, Any]:
            if "://" not in url:
                raise ValueError("expected a URL such as postgres://user@host:5432/name")
            scheme = url.split("://", 1)[0]
            if scheme not in _DB_SCHEMES:
                raise ValueError(f"supported schemes are {', '.join(sorted(_DB_SCHEMES))}")
            config: dict[str, Any] = environ.Env.db_url_config(url)
            if not config.get("ENGINE"):
                raise ValueError("unknown database scheme")
            return config

        try:
            return parse(value)
        except (ValueError, KeyError, ImproperlyConfigured) as exc:
            raise ImproperlyConfigured(f"{name} must be a database URL, got {value!r} ({exc}).") from exc

    def get_url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in schemes:
            allowed = ", ".join(f"{s}://" for s in schemes)
            raise ImproperlyConfigured(f"{name} must be a URL starting with {allowed}, got {value!r}.")
        return value
