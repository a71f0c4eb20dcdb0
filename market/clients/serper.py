"""Serper (Google search as an API, needs SERPER_API_KEY): news for a query.

``POST {SERPER_BASE_URL}/news`` with header ``X-API-KEY`` and ``{"q", "num", "gl", "hl", "tbs"}`` answers
``news[]`` (or ``organic[]`` from the web-search endpoint) with ``title``, ``snippet``, ``link`` and a
``date`` that is usually relative ("3 hours ago", "3 小時前"). An empty result is no news, never made up.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from market.clients.http import SourceNotConfigured, SourceResponseInvalid, request_json
from market.clients.news import NewsEntry, plain_text

logger = logging.getLogger(__name__)

SOURCE = "Serper"
TAIPEI = ZoneInfo("Asia/Taipei")

_UNIT_SECONDS = {
    "second": 1,
    "sec": 1,
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "hr": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "秒": 1,
    "分鐘": 60,
    "分钟": 60,
    "分": 60,
    "小時": 3600,
    "小时": 3600,
    "天": 86400,
    "日": 86400,
    "週": 7 * 86400,
    "周": 7 * 86400,
    "星期": 7 * 86400,
}
# Months and years are too coarse to give a publication time: those dates stay empty.
_RELATIVE_EN = re.compile(
    r"^(\d+|an?|one)\s+(second|sec|minute|min|hour|hr|day|week)s?\s+ago$", re.IGNORECASE
)
_RELATIVE_ZH = re.compile(r"^(\d+)\s*(秒|分鐘|分钟|分|小時|小时|天|日|週|周|星期)\s*前$")
_ABSOLUTE_FORMATS = ("%b %d, %Y", "%d %b %Y", "%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日")


def parse_date(value: str, *, now: dt.datetime) -> dt.datetime | None:
    """A Serper ``date`` as an aware datetime, or None when it cannot be read.

    A date without a time of day ("Nov 26, 2025") is taken as midnight in Taipei.
    """
    text = " ".join(value.split())
    if not text:
        return None
    match = _RELATIVE_EN.match(text) or _RELATIVE_ZH.match(text)
    if match is not None:
        amount, unit = match.groups()
        count = int(amount) if amount.isdigit() else 1
        return now - dt.timedelta(seconds=count * _UNIT_SECONDS[unit.lower()])
    for pattern in _ABSOLUTE_FORMATS:
        try:
            day = dt.datetime.strptime(text, pattern)  # noqa: DTZ007 - made aware on the next line
        except ValueError:
            continue
        return day.replace(tzinfo=TAIPEI)
    return None


def _entry(item: Any, *, now: dt.datetime) -> NewsEntry | None:
    if not isinstance(item, dict):
        return None
    title, link = str(item.get("title") or "").strip(), str(item.get("link") or "").strip()
    if not title or not link:
        return None
    return NewsEntry(
        title=plain_text(title, limit=500),
        url=link,
        snippet=plain_text(str(item.get("snippet") or "")),
        published_at=parse_date(str(item.get("date") or ""), now=now),
        source=str(item.get("source") or "").strip(),
        raw=item,
    )


def _items(body: Any) -> list[Any]:
    if isinstance(body, dict):
        for key in ("news", "organic"):
            if isinstance(body.get(key), list):
                return list(body[key])
    raise SourceResponseInvalid(
        _("%(source)s answered without a news or organic list: %(body).200r")
        % {"source": SOURCE, "body": body},
        source=SOURCE,
    )


def search_news(
    *, query: str, num: int = 10, tbs: str = "qdr:d", now: dt.datetime | None = None
) -> list[NewsEntry]:
    """News for ``query`` in Taiwan, in Traditional Chinese; ``tbs`` is Google's time filter (qdr:d = a day)."""
    if not settings.SERPER_API_KEY:
        raise SourceNotConfigured(
            _("Serper is not configured: set SERPER_API_KEY to search news."), source=SOURCE
        )
    body = request_json(
        "POST",
        f"{settings.SERPER_BASE_URL}/news",
        source=SOURCE,
        headers={"X-API-KEY": settings.SERPER_API_KEY},
        json={"q": query, "num": num, "gl": "tw", "hl": "zh-tw", "tbs": tbs},
    )
    moment = now or timezone.now()
    entries: list[NewsEntry] = []
    for item in _items(body):
        entry = _entry(item, now=moment)
        if entry is None:
            logger.warning("Serper result without title or link skipped for %r: %.200r", query, item)
            continue
        entries.append(entry)
    return entries
