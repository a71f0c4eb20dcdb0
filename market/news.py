"""News: Serper searches and RSS/Atom feeds stored as NewsItems, one per normalised URL, matched to stocks.

A source that fails or finds nothing leaves no news: nothing here ever writes a headline of its own.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from market.clients import rss, serper
from market.clients.http import MarketDataError
from market.clients.news import NewsEntry
from market.models import NewsFeed, NewsItem, Stock

logger = logging.getLogger(__name__)

_URL_MAX = NewsItem._meta.get_field("url").max_length or 800
_QUERY_MAX = NewsItem._meta.get_field("query").max_length or 200
_SOURCE_MAX = NewsItem._meta.get_field("source").max_length or 100
_TRACKING_PARAMS = {"fbclid", "gclid"}


class NewsQueryInvalid(ServiceError):
    code = "news_query_invalid"


@dataclass(frozen=True)
class NewsFetchResult:
    created: int
    duplicates: int
    # Every stored item the search returned, new or already known, newest first.
    items: list[NewsItem] = field(default_factory=list)


@dataclass(frozen=True)
class NewsStoreResult:
    urls: list[str]  # normalised, of every usable entry
    created: int
    duplicates: int  # already stored, or repeated within the answer
    skipped: int  # no usable URL


@dataclass(frozen=True)
class FeedsFetchResult:
    feeds: int
    failed: int
    created: int


# --- URLs -------------------------------------------------------------------------------------------


def url_normalise(url: str) -> str:
    """The URL without utm_* (and fbclid/gclid) parameters or fragment, scheme and host in lower case.

    The same article shared through different campaigns is then one URL.
    """
    parts = urlsplit(url.strip())
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in _TRACKING_PARAMS
    ]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


# --- Stock matching ---------------------------------------------------------------------------------

# A 4-6 digit code standing alone; not part of a longer number, a date (2025/11/26, 2025-11), a year
# (2025年) or an amount (1050元, 2300點, 5000張, 1500億).
_CODE = re.compile(r"(?<![\d.,/:\-])(\d{4,6})(?![\d,]|\.\d|\s*[年月日元點張億萬%％]|[/\-]\d)")
# After a two-character name, the characters that still read as "this company" in a headline
# (中鋼股價, 聯電漲停, 台泥營收, 統一與...), not a longer word (統一發票, 大同區).
_SHORT_NAME_FOLLOWERS = set("股漲跌營法今明昨將宣獲大再攻挫與和及的在同也")
# Before one, a conjunction still starts a new name (中鋼構與中鋼).
_SHORT_NAME_LEADERS = set("與和及跟或對")
_SHORT_NAME = 2


def _is_cjk(character: str) -> bool:
    return "\u3400" <= character <= "\u9fff" or "\uf900" <= character <= "\ufaff"


class StockMatcher:
    """Finds the stocks a text mentions, by code and by name (names of two or more characters)."""

    def __init__(self, stocks: Iterable[tuple[int, str, str]]) -> None:
        self.by_code: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        for stock_id, code, name in stocks:
            self.by_code[code] = stock_id
            if len(name) >= _SHORT_NAME:
                self.by_name.setdefault(name, stock_id)
        # Longest first: at one position the alternation takes the first name that fits, so 中鋼構 wins over 中鋼.
        names = sorted(self.by_name, key=len, reverse=True)
        self.names = re.compile("|".join(re.escape(name) for name in names)) if names else None

    @classmethod
    def from_master(cls) -> StockMatcher:
        return cls(Stock.objects.filter(is_active=True).values_list("id", "code", "name"))

    def match(self, text: str) -> set[int]:
        found = {self.by_code[code] for code in _CODE.findall(text) if code in self.by_code}
        if self.names is not None:
            for hit in self.names.finditer(text):
                if self._stands_alone(text, hit.start(), hit.end()):
                    found.add(self.by_name[hit.group()])
        return found

    @staticmethod
    def _stands_alone(text: str, start: int, end: int) -> bool:
        if end - start > _SHORT_NAME:
            return True
        before = text[start - 1] if start > 0 else " "
        after = text[end] if end < len(text) else " "
        left_ok = not _is_cjk(before) or before in _SHORT_NAME_LEADERS
        return left_ok and (not _is_cjk(after) or after in _SHORT_NAME_FOLLOWERS)


# --- Storing ----------------------------------------------------------------------------------------


def _by_url(entries: Sequence[NewsEntry]) -> tuple[dict[str, NewsEntry], int]:
    unique: dict[str, NewsEntry] = {}
    skipped = 0
    for entry in entries:
        url = url_normalise(entry.url)
        if not url.startswith(("https://", "http://")) or len(url) > _URL_MAX:
            logger.warning("News entry with an unusable URL skipped: %.200s", entry.url)
            skipped += 1
            continue
        unique.setdefault(url, entry)
    return unique, skipped


def _item(
    url: str, entry: NewsEntry, *, origin: str, feed: NewsFeed | None, query: str, now: dt.datetime
) -> NewsItem:
    return NewsItem(
        origin=origin,
        feed=feed,
        source=(entry.source or urlsplit(url).netloc)[:_SOURCE_MAX],
        query=query,
        url=url,
        title=entry.title,
        snippet=entry.snippet,
        published_at=entry.published_at,
        fetched_at=now,
        raw=entry.raw,
    )


def _link_stocks(items: Sequence[NewsItem]) -> None:
    if not items:
        return  # building the matcher compiles every stock name: skip it when nothing is new
    matcher = StockMatcher.from_master()
    through = NewsItem.stocks.through
    links = [
        through(newsitem_id=item.pk, stock_id=stock_id)
        for item in items
        for stock_id in matcher.match(f"{item.title} {item.snippet}")
    ]
    through.objects.bulk_create(links, ignore_conflicts=True)


def news_store(
    *,
    entries: Sequence[NewsEntry],
    origin: str,
    now: dt.datetime,
    feed: NewsFeed | None = None,
    query: str = "",
) -> NewsStoreResult:
    """Store the entries whose normalised URL is new and match them to stocks.

    A URL already stored, or seen twice in one answer, is a duplicate and is dropped.
    """
    unique, skipped = _by_url(entries)
    known = set(NewsItem.objects.filter(url__in=unique).values_list("url", flat=True))
    new = {url: entry for url, entry in unique.items() if url not in known}
    with transaction.atomic():
        # ignore_conflicts: another run may store the same article at the same moment.
        NewsItem.objects.bulk_create(
            [_item(url, entry, origin=origin, feed=feed, query=query, now=now) for url, entry in new.items()],
            ignore_conflicts=True,
        )
        _link_stocks(list(NewsItem.objects.filter(url__in=new)))
    return NewsStoreResult(
        urls=list(unique), created=len(new), duplicates=len(entries) - skipped - len(new), skipped=skipped
    )


def news_fetch(
    *, query: str, num: int = 10, tbs: str = "qdr:d", now: dt.datetime | None = None
) -> NewsFetchResult:
    """Search Serper for ``query`` and store what is new. Raises SourceNotConfigured without SERPER_API_KEY."""
    query = " ".join(query.split())
    if not query or len(query) > _QUERY_MAX:
        raise NewsQueryInvalid(
            _("A news query needs 1 to %(max)s characters, got %(length)s.")
            % {"max": _QUERY_MAX, "length": len(query)}
        )
    moment = now or timezone.now()
    entries = serper.search_news(query=query, num=num, tbs=tbs, now=moment)
    stored = news_store(entries=entries, origin=NewsItem.Origin.SERPER, now=moment, query=query)
    items = list(
        NewsItem.objects.filter(url__in=stored.urls)
        .prefetch_related("stocks")
        .order_by(F("published_at").desc(nulls_last=True), "-id")
    )
    return NewsFetchResult(created=stored.created, duplicates=stored.duplicates, items=items)


def _fetch_feed(feed: NewsFeed, *, now: dt.datetime) -> int:
    entries = rss.fetch_feed(url=feed.url, source=feed.name)
    stored = news_store(entries=entries, origin=NewsItem.Origin.FEED, now=now, feed=feed)
    NewsFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now, last_error="", last_error_at=None)
    return stored.created


def _record_feed_failure(feed: NewsFeed, *, message: str, now: dt.datetime) -> None:
    NewsFeed.objects.filter(pk=feed.pk).update(last_error=message, last_error_at=now)


def news_fetch_feeds(
    *, feeds: Iterable[NewsFeed] | None = None, now: dt.datetime | None = None
) -> FeedsFetchResult:
    """Fetch every active feed (or the given ones). One failing feed records its error and the run goes on."""
    moment = now or timezone.now()
    selected = list(feeds if feeds is not None else NewsFeed.objects.filter(is_active=True).order_by("pk"))
    failed = created = 0
    for feed in selected:
        try:
            created += _fetch_feed(feed, now=moment)
        except MarketDataError as exc:
            failed += 1
            _record_feed_failure(feed, message=exc.message, now=moment)
        except Exception as exc:
            # An unknown failure is recorded on the feed and logged in full; the other feeds still run.
            logger.exception("News feed %s failed unexpectedly", feed.url)
            failed += 1
            _record_feed_failure(
                feed,
                message=_("Unexpected error: %(error)s") % {"error": str(exc) or type(exc).__name__},
                now=moment,
            )
    return FeedsFetchResult(feeds=len(selected), failed=failed, created=created)


def news_search_recent(*, queries: Sequence[str], now: dt.datetime | None = None) -> int:
    """With SERPER_API_KEY set, search Serper for each query not searched in the last
    SERPER_REFRESH_MINUTES and store what is new (by URL, so a headline RSS already brought is not doubled).

    Used by the news and macro triggers and the draft context, which then read stored news (RSS and
    Serper alike). Without a key it does nothing; a failing search is logged and leaves no news.
    Returns how many new items were stored.
    """
    if not settings.SERPER_API_KEY:
        return 0
    moment = now or timezone.now()
    since = moment - dt.timedelta(minutes=settings.SERPER_REFRESH_MINUTES)
    created = 0
    for query in dict.fromkeys(" ".join(query.split())[:_QUERY_MAX] for query in queries if query.strip()):
        if NewsItem.objects.filter(
            origin=NewsItem.Origin.SERPER, query=query, fetched_at__gte=since
        ).exists():
            continue
        try:
            created += news_fetch(query=query, now=moment).created
        except MarketDataError as exc:
            logger.warning("Serper search for %r failed: %s", query, exc.message)
    return created
