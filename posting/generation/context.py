"""The market snapshot a post may draw on, built from stored data only and stored on the post.

``context_build(kol=..., stock=..., trigger_reasons=[...])`` returns a JSON-ready dict:

- ``quote``: the latest day with a closing price (date, open, high, low, close, change, change_pct,
  prev_close = close - change, volume in shares and lots (張), turnover in TWD and in 億).
- ``history``: up to the last 60 such days, oldest first.
- ``figures``: day range and amplitude; 5/20/60-day average close (``ma5``...), RSI(14) with Wilder's
  smoothing, 20-day average volume and today's ratio to it, 20-day high/low range: each only when there
  are enough days for it. ``omitted`` says which were left out and why (``needs_days``/``have_days``).
  MACD and KD are always omitted: their smoothing needs a longer history than we keep, and values
  from 60 days would not match what readers see on charting sites.
- ``news``: items of ``market.NewsItem`` linked to the stock from the last three days, when that model
  exists; otherwise empty, with the reason in ``omitted``. Nothing is ever made up.
- ``trigger``: the trigger type and its reasons as given.

Every Decimal is written as a string with two decimals ("104.00"); share counts are integers; dates are
ISO 8601. A stock without any quote is a ContextError naming the stock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db.models import Count, F, Max, Model, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from market.models import DailyQuote, InstrumentType, NewsItem, Stock
from market.news import news_search_recent

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

    from kols.models import KOL

SNAPSHOT_VERSION = 1
HISTORY_DAYS = 60
MOVING_AVERAGE_DAYS = (5, 20, 60)
RSI_PERIOD = 14
VOLUME_AVERAGE_DAYS = 20
RANGE_DAYS = 20
# Days of history MACD(12,26,9) and KD(9,3,3) need before their smoothing settles.
LONG_HISTORY_INDICATORS = {"macd": 120, "kd": 120}
NEWS_LIMIT = 5
NEWS_WINDOW = dt.timedelta(days=3)
TAIPEI = ZoneInfo("Asia/Taipei")

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
_LOT = Decimal(1000)
_HUNDRED_MILLION = Decimal(100_000_000)


class ContextError(ServiceError):
    code = "context_unavailable"
    status_code = 422


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _recent_quotes(stock: Stock, as_of: dt.date | None) -> list[DailyQuote]:
    quotes = DailyQuote.objects.filter(stock=stock, close__isnull=False)
    if as_of is not None:
        quotes = quotes.filter(trade_date__lte=as_of)
    return list(reversed(quotes.order_by("-trade_date")[:HISTORY_DAYS]))


def _previous_close(quote: DailyQuote) -> Decimal | None:
    if quote.close is None or quote.change is None:
        return None
    previous = quote.close - quote.change
    return previous if previous > 0 else None


def _quote(quote: DailyQuote) -> dict[str, Any]:
    previous = _previous_close(quote)
    change_pct = None
    if previous is not None and quote.change is not None:
        change_pct = quote.change / previous * _HUNDRED
    return {
        "date": quote.trade_date.isoformat(),
        "open": _money(quote.open),
        "high": _money(quote.high),
        "low": _money(quote.low),
        "close": _money(quote.close),
        "change": _money(quote.change),
        "change_pct": _money(change_pct),
        "prev_close": _money(previous),
        "volume": quote.volume,
        "volume_lots": _whole(Decimal(quote.volume) / _LOT),
        "turnover": quote.turnover,
        "turnover_100m_twd": _money(Decimal(quote.turnover) / _HUNDRED_MILLION),
        "transactions": quote.transactions,
    }


def _history_row(quote: DailyQuote) -> dict[str, Any]:
    return {
        "date": quote.trade_date.isoformat(),
        "open": _money(quote.open),
        "high": _money(quote.high),
        "low": _money(quote.low),
        "close": _money(quote.close),
        "change": _money(quote.change),
        "volume": quote.volume,
        "turnover": quote.turnover,
    }


def _short_history(name: str, needs: int, have: int) -> dict[str, Any]:
    return {"name": name, "reason": "insufficient_history", "needs_days": needs, "have_days": have}


def _day_range(latest: DailyQuote) -> dict[str, Any] | None:
    if latest.high is None or latest.low is None:
        return None
    spread = latest.high - latest.low
    previous = _previous_close(latest)
    amplitude = spread / previous * _HUNDRED if previous is not None else None
    return {
        "low": _money(latest.low),
        "high": _money(latest.high),
        "spread": _money(spread),
        "amplitude_pct": _money(amplitude),
    }


def rsi_wilder(closes: Sequence[Decimal], period: int = RSI_PERIOD) -> Decimal:
    """RSI with Wilder's smoothing, seeded with the simple average of the first ``period`` changes."""
    changes = [later - earlier for earlier, later in pairwise(closes)]
    gain = sum((max(c, Decimal(0)) for c in changes[:period]), Decimal(0)) / period
    loss = sum((max(-c, Decimal(0)) for c in changes[:period]), Decimal(0)) / period
    for change in changes[period:]:
        gain = (gain * (period - 1) + max(change, Decimal(0))) / period
        loss = (loss * (period - 1) + max(-change, Decimal(0))) / period
    if loss == 0:
        return Decimal(50) if gain == 0 else _HUNDRED
    return _HUNDRED - _HUNDRED / (1 + gain / loss)


def _moving_averages(closes: list[Decimal], figures: dict[str, Any], omitted: list[dict[str, Any]]) -> None:
    for days in MOVING_AVERAGE_DAYS:
        if len(closes) >= days:
            figures[f"ma{days}"] = _money(sum(closes[-days:], Decimal(0)) / days)
        else:
            omitted.append(_short_history(f"ma{days}", days, len(closes)))


def _rsi(closes: list[Decimal], figures: dict[str, Any], omitted: list[dict[str, Any]]) -> None:
    if len(closes) > RSI_PERIOD:
        figures[f"rsi{RSI_PERIOD}"] = _money(rsi_wilder(closes))
    else:
        omitted.append(_short_history(f"rsi{RSI_PERIOD}", RSI_PERIOD + 1, len(closes)))


def _volume(rows: list[DailyQuote], figures: dict[str, Any], omitted: list[dict[str, Any]]) -> None:
    if len(rows) < VOLUME_AVERAGE_DAYS:
        omitted.append(_short_history("volume_ratio20", VOLUME_AVERAGE_DAYS, len(rows)))
        return
    average = Decimal(sum(row.volume for row in rows[-VOLUME_AVERAGE_DAYS:])) / VOLUME_AVERAGE_DAYS
    figures["volume_avg20"] = _whole(average)
    figures["volume_avg20_lots"] = _whole(average / _LOT)
    if average > 0:
        figures["volume_ratio20"] = _money(Decimal(rows[-1].volume) / average)


def _range(rows: list[DailyQuote], figures: dict[str, Any], omitted: list[dict[str, Any]]) -> None:
    window = rows[-RANGE_DAYS:]
    highs = [row.high for row in window if row.high is not None]
    lows = [row.low for row in window if row.low is not None]
    if len(rows) < RANGE_DAYS or not highs or not lows:
        omitted.append(_short_history("range_20d", RANGE_DAYS, len(rows)))
        return
    figures["range_20d"] = {"low": _money(min(lows)), "high": _money(max(highs))}


def _figures(rows: list[DailyQuote]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    figures: dict[str, Any] = {}
    omitted: list[dict[str, Any]] = []
    day_range = _day_range(rows[-1])
    if day_range is None:
        omitted.append({"name": "day_range", "reason": "missing_high_low"})
    else:
        figures["day_range"] = day_range
    closes = [row.close for row in rows if row.close is not None]
    _moving_averages(closes, figures, omitted)
    _rsi(closes, figures, omitted)
    _volume(rows, figures, omitted)
    _range(rows, figures, omitted)
    for name, days in LONG_HISTORY_INDICATORS.items():
        omitted.append(_short_history(name, days, len(rows)))
    return figures, omitted


# --- News (market.NewsItem, looked up at run time: the news app may not be installed) ----------------


def _first_attr(item: Model, names: Sequence[str], fields: set[str]) -> str:
    for name in names:
        if name in fields:
            value = getattr(item, name)
            if value:
                return value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return ""


def _news_entry(item: Model, fields: set[str]) -> dict[str, str] | None:
    title = _first_attr(item, ("title", "headline"), fields)
    if not title:
        return None
    return {
        "title": title,
        "summary": _first_attr(item, ("summary", "snippet", "description"), fields),
        "source": _first_attr(item, ("source", "publisher"), fields),
        "url": _first_attr(item, ("url", "link"), fields),
        "published_at": _first_attr(item, ("published_at", "fetched_at"), fields),
    }


def _stock_relation(model: type[Model]) -> str | None:
    for model_field in model._meta.get_fields():
        forward = model_field.is_relation and not model_field.auto_created
        if forward and model_field.related_model is Stock:
            return model_field.name
    return None


def _news(stock: Stock, until: dt.datetime) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
    try:
        model = apps.get_model("market", "NewsItem")
    except LookupError:
        return [], {"name": "news", "reason": "no_news_source"}
    relation = _stock_relation(model)
    if relation is None:
        return [], {"name": "news", "reason": "news_not_linked_to_stocks"}
    fields = {model_field.name for model_field in model._meta.get_fields()}
    items = model._default_manager.filter(**{relation: stock})
    times = [name for name in ("published_at", "fetched_at", "created_at") if name in fields]
    if times:
        when: Combinable = Coalesce(*times) if len(times) > 1 else F(times[0])
        items = items.annotate(news_time=when).filter(
            news_time__lte=until, news_time__gte=until - NEWS_WINDOW
        )
        items = items.order_by("-news_time")
    entries = [entry for item in items[:NEWS_LIMIT] if (entry := _news_entry(item, fields))]
    return entries, None if entries else {"name": "news", "reason": "no_recent_news"}


def _news_until(as_of: dt.date | None) -> dt.datetime:
    if as_of is None:
        return timezone.now()
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min, tzinfo=TAIPEI)


def context_build(
    *,
    kol: KOL,
    stock: Stock,
    trigger_reasons: Sequence[str] = (),
    trigger_type: str = "",
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """The snapshot for one (KOL, stock, trigger): see the module docstring for its shape."""
    rows = _recent_quotes(stock, as_of)
    if not rows:
        until = _(" on or before %(date)s") % {"date": as_of.isoformat()} if as_of else ""
        raise ContextError(
            _("No daily quote with a closing price for %(code)s %(name)s%(until)s: load market data first.")
            % {"code": stock.code, "name": stock.name, "until": until},
            fields={"stock": [stock.code]},
        )
    figures, omitted = _figures(rows)
    if as_of is None:
        # With SERPER_API_KEY set, today's draft also searches Serper (stored by URL beside the RSS items).
        news_search_recent(queries=[f"{stock.name} {stock.code}"])
    news, news_omitted = _news(stock, _news_until(as_of))
    if news_omitted:
        omitted.append(news_omitted)
    return {
        "version": SNAPSHOT_VERSION,
        "built_at": timezone.now().isoformat(),
        "built_for": {"kol_id": kol.pk, "persona": kol.persona},
        "stock": {"code": stock.code, "name": stock.name, "market": stock.market, "industry": stock.industry},
        "as_of": rows[-1].trade_date.isoformat(),
        "quote": _quote(rows[-1]),
        "history": [_history_row(row) for row in rows],
        "figures": figures,
        "omitted": omitted,
        "news": news,
        "trigger": {"type": trigger_type, "reasons": [str(reason) for reason in trigger_reasons]},
    }


# --- Topic (macro) posts: no stock, the topic's news and the market's breadth ---------------------------

TOPIC_SNAPSHOT_KIND = "topic"
_TOPIC_SPLIT = re.compile(r"[\s,，、/]+")


def _topic_keywords(topic: str) -> list[str]:
    return [word for word in _TOPIC_SPLIT.split(topic.strip()) if word]


def _topic_news(topic: str, until: dt.datetime) -> list[dict[str, str]]:
    """Stored headlines (RSS and Serper alike) that name the topic, newest first, one per URL."""
    keywords = _topic_keywords(topic)
    if not keywords:
        return []
    matches = Q()
    for word in keywords:
        matches |= Q(title__icontains=word) | Q(snippet__icontains=word)
    items = (
        NewsItem.objects.filter(matches)
        .annotate(news_time=Coalesce("published_at", "fetched_at"))
        .filter(news_time__lte=until, news_time__gte=until - NEWS_WINDOW)
        .order_by("-news_time")[:NEWS_LIMIT]
    )
    fields = {model_field.name for model_field in NewsItem._meta.get_fields()}
    return [entry for item in items if (entry := _news_entry(item, fields))]


def _market_breadth(as_of: dt.date | None) -> dict[str, Any] | None:
    """How the common stocks moved on the latest stored trading day (counts and total turnover)."""
    quotes = DailyQuote.objects.filter(
        stock__instrument_type=InstrumentType.COMMON, stock__is_active=True, close__isnull=False
    )
    if as_of is not None:
        quotes = quotes.filter(trade_date__lte=as_of)
    day = quotes.aggregate(day=Max("trade_date"))["day"]
    if day is None:
        return None
    totals = quotes.filter(trade_date=day).aggregate(
        stocks=Count("id"),
        advancers=Count("id", filter=Q(change__gt=0)),
        decliners=Count("id", filter=Q(change__lt=0)),
        unchanged=Count("id", filter=Q(change=0)),
        turnover=Sum("turnover"),
    )
    turnover = Decimal(totals["turnover"] or 0)
    return {
        "trade_date": day.isoformat(),
        "stocks_traded": totals["stocks"],
        "advancing_stocks": totals["advancers"],
        "declining_stocks": totals["decliners"],
        "unchanged_stocks": totals["unchanged"],
        "turnover": int(turnover),
        "turnover_100m_twd": _money(turnover / _HUNDRED_MILLION),
    }


def topic_context_build(
    *,
    kol: KOL,
    topic: str,
    trigger_reasons: Sequence[str] = (),
    trigger_type: str = "",
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """The snapshot of a post about a topic rather than a stock (a macro trigger's topic): the stored news
    that names it and the breadth of the market's common stocks. Nothing else is known, so nothing else
    is in it; with neither news nor quotes stored it is a ContextError."""
    topic = topic.strip()
    if not topic:
        raise ContextError(_("A topic post needs a topic."), fields={"topic": [_("This field is required.")]})
    if as_of is None:
        news_search_recent(queries=[topic])
    news = _topic_news(topic, _news_until(as_of))
    breadth = _market_breadth(as_of)
    if not news and breadth is None:
        raise ContextError(
            _("Nothing is stored about %(topic)s: no recent news names it and no quotes are loaded.")
            % {"topic": topic},
            fields={"topic": [topic]},
        )
    omitted: list[dict[str, Any]] = []
    if not news:
        omitted.append({"name": "news", "reason": "no_recent_news"})
    if breadth is None:
        omitted.append({"name": "market", "reason": "no_quotes"})
    return {
        "version": SNAPSHOT_VERSION,
        "kind": TOPIC_SNAPSHOT_KIND,
        "built_at": timezone.now().isoformat(),
        "built_for": {"kol_id": kol.pk, "persona": kol.persona},
        "topic": {"title": topic},
        "as_of": breadth["trade_date"] if breadth else None,
        "market": breadth,
        "figures": {},
        "omitted": omitted,
        "news": news,
        "trigger": {"type": trigger_type, "reasons": [str(reason) for reason in trigger_reasons]},
    }
