"""Reading interactions from the platforms: what each answer means (counts, gone, try again)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Counts:
    """One reading of a post's interactions. None = the platform does not provide the metric."""

    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    tips: int | None = None
    views: int | None = None
    reactions: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


class ReadFailed(Exception):
    """A read that did not give counts this time; it may be tried again (after ``retry_after`` seconds)."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.status = status


class ReadGone(Exception):
    """The platform no longer shows the post: ``reason`` is "deleted" or "hidden" (moderation)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
