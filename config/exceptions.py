"""The base of every domain error a service raises.

Services raise these with a stable ``code`` and a readable message; the API turns them into the one
error body, the admin into a message, commands into a non-zero exit.
"""

from __future__ import annotations


class ServiceError(Exception):
    code = "service_error"
    status_code = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class ConflictError(ServiceError):
    """The object is not in a state that allows the change (someone else got there first)."""

    code = "conflict"
    status_code = 409
