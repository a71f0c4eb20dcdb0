"""Triggers on stored news (market.NewsItem): stocks named in matching headlines, and macro topics.

They read only headlines that were really fetched; a topic with no matching headline says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from market.models import NewsItem
from market.news import news_search_recent
from scheduling.trigger_types import TriggerType
from scheduling.triggers.results import Exclusion, Pick, TriggerResult, candidates_rank

TAIPEI = ZoneInfo("Asia/Taipei")
_HEADLINES_PER_REASON = 3


def _window(hours: int, as_of: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
    """``hours`` back from now, or from the end of the ``as_of`` day (Asia/Taipei) when replaying one."""
    now = timezone.now()
    end = now
    if as_of is not None:
        end_of_day = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=TAIPEI)
        end = min(now, end_of_day)
    return end - dt.timedelta(hours=hours), end


@dataclass(frozen=True)
class Headline:
    id: int
    title: str
    url: str
    source: str
    at: dt.datetime
    text: str

    def as_reason(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "published_at": self.at.isoformat(),
        }


def _matching(terms: list[str], start: dt.datetime, end: dt.datetime, *fields: str) -> list[dict[str, Any]]:
    """Headlines in the window whose title or snippet contains any of ``terms``, newest first.

    Items without a publish time count at the time we fetched them (the latest they can be from).
    """
    matches = reduce(or_, (Q(title__icontains=term) | Q(snippet__icontains=term) for term in terms))
    return list(
        NewsItem.objects.annotate(at=Coalesce("published_at", "fetched_at"))
        .filter(matches, at__gt=start, at__lte=end)
        .order_by("-at", "-id")
        .values("id", "title", "snippet", "url", "source", "at", *fields)
    )


def _search_serper(terms: list[str], as_of: dt.date | None) -> None:
    """With SERPER_API_KEY set, today's evaluation also searches Serper for the terms (stored by URL next to
    the RSS items, so the matching below reads both); a past day's evaluation reads only what is stored."""
    if as_of is None or as_of == timezone.localdate(timezone=TAIPEI):
        news_search_recent(queries=terms)


def _headline(row: dict[str, Any]) -> Headline:
    text = f"{row['title']}\n{row['snippet']}".casefold()
    return Headline(row["id"], row["title"], row["url"], row["source"], row["at"], text)


def _terms_in(headline: Headline, terms: list[str]) -> list[str]:
    return [term for term in terms if term.casefold() in headline.text]


def _window_note(start: dt.datetime, end: dt.datetime) -> str:
    return _("News window: %(start)s to %(end)s (Asia/Taipei).") % {
        "start": timezone.localtime(start, TAIPEI).strftime("%Y-%m-%d %H:%M"),
        "end": timezone.localtime(end, TAIPEI).strftime("%Y-%m-%d %H:%M"),
    }


# --- news ----------------------------------------------------------------------------------------------


@dataclass
class _StockNews:
    stock_id: int
    code: str
    name: str
    headlines: list[Headline] = field(default_factory=list)
    terms: set[str] = field(default_factory=set)


def news(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    keywords: list[str] = config["keywords"]
    start, end = _window(config["window_hours"], as_of)
    _search_serper(keywords, as_of)
    rows = _matching(keywords, start, end, "stocks__id", "stocks__code", "stocks__name", "stocks__is_active")
    by_stock: dict[int, _StockNews] = {}
    inactive: dict[str, Exclusion] = {}
    unlinked: set[int] = set()
    for row in rows:
        headline = _headline(row)
        if row["stocks__id"] is None:
            unlinked.add(headline.id)
            continue
        if not row["stocks__is_active"]:
            inactive[row["stocks__code"]] = _inactive(row["stocks__code"], row["stocks__name"])
            continue
        entry = by_stock.setdefault(
            row["stocks__id"], _StockNews(row["stocks__id"], row["stocks__code"], row["stocks__name"])
        )
        entry.headlines.append(headline)
        entry.terms.update(_terms_in(headline, keywords))
    picks = [_news_pick(entry, config) for entry in by_stock.values()]
    notes = [_window_note(start, end)]
    if unlinked:
        notes.append(
            _("%(count)s matching headline(s) name no stock we know and are left out.")
            % {"count": len(unlinked)}
        )
    return TriggerResult(
        trigger_type=TriggerType.NEWS,
        config=config,
        as_of=as_of,
        previous_day=None,
        candidates=candidates_rank(trigger_type=TriggerType.NEWS, limit=config["limit"], picks=picks),
        excluded=sorted(inactive.values(), key=lambda exclusion: exclusion.stock_code),
        matched=len(picks),
        notes=notes,
    )


def _inactive(code: str, name: str) -> Exclusion:
    return Exclusion(
        stock_code=code,
        stock_name=name,
        code="inactive",
        message=_("%(code)s %(name)s is marked inactive in the stock master.") % {"code": code, "name": name},
    )


def _news_pick(entry: _StockNews, config: dict[str, Any]) -> Pick:
    latest = entry.headlines[0]
    terms = [term for term in config["keywords"] if term in entry.terms]
    reason = {
        "code": "news",
        "news_count": len(entry.headlines),
        "keywords": terms,
        "window_hours": config["window_hours"],
        "latest_at": latest.at.isoformat(),
        "headlines": [headline.as_reason() for headline in entry.headlines[:_HEADLINES_PER_REASON]],
    }
    summary = _(
        "%(code)s %(name)s is in %(count)s headline(s) matching %(keywords)s in the last %(hours)s hours; "
        "latest: %(title)s"
    ) % {
        "code": entry.code,
        "name": entry.name,
        "count": len(entry.headlines),
        "keywords": ", ".join(terms),
        "hours": config["window_hours"],
        "title": latest.title,
    }
    return Pick(
        stock_id=entry.stock_id,
        order=(-len(entry.headlines), -latest.at.timestamp(), entry.code),
        score=float(len(entry.headlines)),
        summary=summary,
        reasons=[reason],
    )


# --- macro ---------------------------------------------------------------------------------------------


def macro(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    topics: list[str] = config["topics"]
    start, end = _window(config["window_hours"], as_of)
    _search_serper(topics, as_of)
    notes = [_window_note(start, end)]
    headlines = [_headline(row) for row in _matching(topics, start, end)]
    picks: list[Pick] = []
    excluded: list[Exclusion] = []
    for position, topic in enumerate(topics):
        found = [item for item in headlines if _terms_in(item, [topic])]
        if found == [] and config["require_news"]:
            excluded.append(_topic_without_news(topic, config))
            continue
        picks.append(_macro_pick(topic, position, found, config))
    return TriggerResult(
        trigger_type=TriggerType.MACRO,
        config=config,
        as_of=as_of,
        previous_day=None,
        candidates=candidates_rank(trigger_type=TriggerType.MACRO, limit=config["limit"], picks=picks),
        excluded=excluded,
        matched=len(picks),
        notes=notes,
    )


def _topic_without_news(topic: str, config: dict[str, Any]) -> Exclusion:
    return Exclusion(
        stock_code="",
        stock_name="",
        topic=topic,
        code="no_news",
        message=_("No headline mentions %(topic)s in the last %(hours)s hours.")
        % {"topic": topic, "hours": config["window_hours"]},
    )


def _macro_pick(topic: str, position: int, found: list[Headline], config: dict[str, Any]) -> Pick:
    reason: dict[str, Any] = {
        "code": "macro_topic",
        "topic": topic,
        "window_hours": config["window_hours"],
        "news_count": len(found),
        "headlines": [item.as_reason() for item in found[:_HEADLINES_PER_REASON]],
    }
    summary = _("Macro topic %(topic)s: %(count)s matching headline(s) in the last %(hours)s hours.") % {
        "topic": topic,
        "count": len(found),
        "hours": config["window_hours"],
    }
    count = len(found)
    # More coverage first; among equals, the order the topics were configured in.
    return Pick(order=(-count, position), score=float(count), summary=summary, reasons=[reason], topic=topic)
