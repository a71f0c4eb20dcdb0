"""RSS and Atom news feeds (keyless): fetched with httpx, parsed by feedparser, which reads both."""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import time
from typing import Any

import feedparser
from django.utils.translation import gettext as _

from market.clients.http import SourceResponseInvalid, excerpt, request
from market.clients.news import NewsEntry, plain_text

logger = logging.getLogger(__name__)


def _published(entry: Any) -> dt.datetime | None:
    # feedparser normalises every date format it knows to a UTC struct_time. dict.get skips its
    # deprecated published->updated aliasing (and the warning that comes with it).
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value: time.struct_time | None = dict.get(entry, key)
        if value is not None:
            return dt.datetime.fromtimestamp(calendar.timegm(value), tz=dt.UTC)
    return None


def _entry(entry: Any, *, source: str) -> NewsEntry | None:
    title = plain_text(str(entry.get("title") or ""), limit=500)
    link = str(entry.get("link") or "").strip()
    if not title or not link:
        return None
    summary = entry.get("summary") or entry.get("description") or ""
    return NewsEntry(
        title=title,
        url=link,
        snippet=plain_text(str(summary)),
        published_at=_published(entry),
        source=source,
        raw={key: dict.get(entry, key) for key in ("id", "title", "link", "published", "updated", "author")},
    )


def fetch_feed(*, url: str, source: str) -> list[NewsEntry]:
    """Every entry of the feed at ``url``; ``source`` names the feed in each entry and in errors."""
    response = request("GET", url, source=source)
    # The headers carry the charset; Taiwanese sites still publish Big5 feeds.
    parsed = feedparser.parse(response.content, response_headers=dict(response.headers))
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception") or excerpt(response.text)
        raise SourceResponseInvalid(
            _("%(source)s is not an RSS or Atom feed (%(url)s): %(problem)s")
            % {"source": source, "url": url, "problem": problem},
            source=source,
        )
    entries: list[NewsEntry] = []
    for raw in parsed.entries:
        entry = _entry(raw, source=source)
        if entry is None:
            logger.warning("Feed entry without title or link skipped in %s: %.200r", url, raw)
            continue
        entries.append(entry)
    return entries
