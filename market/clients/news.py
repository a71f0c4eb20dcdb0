"""The news-item shape the Serper and RSS clients both produce."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import strip_tags

SNIPPET_MAX = 1000


@dataclass(frozen=True)
class NewsEntry:
    """One headline as a source gave it. ``published_at`` is None when the source gave no readable time."""

    title: str
    url: str
    snippet: str
    published_at: dt.datetime | None
    source: str  # the publisher ("經濟日報") or the feed's name
    raw: dict[str, Any] = field(default_factory=dict)


def plain_text(value: str, *, limit: int = SNIPPET_MAX) -> str:
    """HTML from a feed or a search snippet as one line of plain text."""
    text = " ".join(html.unescape(strip_tags(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
