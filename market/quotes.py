"""Daily quotes: the idempotent store, the after-close fetch, and the CSV import of history.

Every entry point (the beat task, ``manage.py import_quotes``) goes through ``quotes_store``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from market import calendar
from market.clients.http import MarketDataError, SourceBlocked
from market.clients.quotes import FeedRead, Quote
from market.instruments import instrument_type_of
from market.models import DailyQuote, Market, Stock
from market.providers import QuoteProvider, default_providers

logger = logging.getLogger(__name__)

_STORED_FIELDS = ["open", "high", "low", "close", "change", "volume", "turnover", "transactions"]
_BATCH = 2000
_CODE_MAX = Stock._meta.get_field("code").max_length or 10
_NAME_MAX = Stock._meta.get_field("name").max_length or 100


class QuoteStoreError(ServiceError):
    code = "quotes_invalid"


class QuotesNotPublishedYet(ServiceError):
    """A source still serves an earlier day than the one that should be out: try again later."""

    code = "quotes_not_published_yet"
    status_code = 503


REASON_EARLIER_DAY = "earlier_day"


@dataclass(frozen=True)
class StoreResult:
    quotes: int = 0
    created: int = 0
    updated: int = 0
    new_stocks: int = 0
    new_by_type: dict[str, int] = field(default_factory=dict)
    refreshed: int = 0  # stocks whose name or market the feed changed
    deactivated: int = 0  # stocks absent from their feed for STOCK_INACTIVE_AFTER_TRADING_DAYS
    changes_derived: int = 0  # CSV rows without a change, given close − the previous trading day's close


@dataclass(frozen=True)
class FeedOutcome:
    """One exchange's feed for one fetch: what it held, what was skipped and why, what was stored."""

    source: str
    rows: int
    skipped: dict[str, int]
    not_stored: dict[str, int]
    undated: int
    problems: list[str]
    stored: StoreResult

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FetchDayResult:
    trade_date: dt.date | None
    message: str
    stored: dict[str, StoreResult] = field(default_factory=dict)
    feeds: dict[str, FeedOutcome] = field(default_factory=dict)


# --- Store ------------------------------------------------------------------------------------------


def _check_batch(quotes: Sequence[Quote]) -> None:
    seen: set[tuple[str, dt.date]] = set()
    for quote in quotes:
        if len(quote.code) > _CODE_MAX:
            raise QuoteStoreError(
                _("Stock code %(code)r is longer than %(max)s characters.")
                % {"code": quote.code, "max": _CODE_MAX}
            )
        key = (quote.code, quote.trade_date)
        if key in seen:
            # PostgreSQL's upsert cannot touch one row twice in a statement, and which copy is right is unknown.
            raise QuoteStoreError(
                _("Stock %(code)s appears twice for %(day)s.") % {"code": quote.code, "day": quote.trade_date}
            )
        seen.add(key)


def _new_stocks(names: dict[str, str], known: dict[str, int], *, market: str) -> dict[str, int]:
    """Codes the master lacks join it with the feed's name, the source's market, their type, no industry."""
    missing = [code for code in names if code not in known]
    for code in missing:
        if not names[code]:
            raise QuoteStoreError(
                _("Stock %(code)s is not in the stock master and the data gives no name for it.")
                % {"code": code}
            )
    new = [
        Stock(
            code=code,
            name=names[code][:_NAME_MAX],
            market=market,
            instrument_type=instrument_type_of(code, names[code]).value,
        )
        for code in missing
    ]
    Stock.objects.bulk_create(new, ignore_conflicts=True, batch_size=_BATCH)
    return dict(Counter(stock.instrument_type for stock in new))


def _refresh_master(names: dict[str, str], *, market: str, day: dt.date) -> int:
    """The exchange's feed is the current truth for the names and markets of the codes it lists."""
    changed: list[Stock] = []
    now = timezone.now()
    for stock in Stock.objects.filter(code__in=names).only("id", "code", "name", "market", "instrument_type"):
        name = names[stock.code][:_NAME_MAX]
        if (name and stock.name != name) or stock.market != market:
            stock.name = name or stock.name
            stock.market = market
            stock.instrument_type = instrument_type_of(stock.code, stock.name).value
            stock.updated_at = now
            changed.append(stock)
    Stock.objects.bulk_update(changed, ["name", "market", "instrument_type", "updated_at"], batch_size=_BATCH)
    Stock.objects.filter(code__in=names).exclude(last_seen_on__gte=day).update(last_seen_on=day)
    Stock.objects.filter(code__in=names, is_active=False).update(is_active=True, updated_at=now)
    return len(changed)


def _row(quote: Quote, stock_id: int) -> DailyQuote:
    return DailyQuote(
        stock_id=stock_id,
        trade_date=quote.trade_date,
        open=quote.open,
        high=quote.high,
        low=quote.low,
        close=quote.close,
        change=quote.change,
        volume=quote.volume,
        turnover=quote.turnover,
        transactions=quote.transactions,
    )


def quotes_store(*, quotes: Sequence[Quote], source: str) -> StoreResult:
    """Upsert one DailyQuote per (stock, trade date). Idempotent: storing the same quotes again changes nothing.

    ``source`` is the Market the quotes come from ("TWSE", "TPEx"), or "" when unknown (a CSV import);
    it becomes the market of stocks that join the master here. Quotes from an exchange's feed also
    refresh the names and markets of the stocks they list and mark them seen on their day.
    """
    if source not in {*Market.values, ""}:
        raise QuoteStoreError(_("Unknown quote source %(source)r.") % {"source": source})
    if not quotes:
        return StoreResult()
    _check_batch(quotes)
    dates = sorted({quote.trade_date for quote in quotes})
    names = {quote.code: quote.name for quote in quotes}
    with transaction.atomic():
        known = dict(Stock.objects.filter(code__in=names).values_list("code", "id"))
        new_by_type = _new_stocks(names, known, market=source)
        refreshed = _refresh_master(names, market=source, day=dates[-1]) if source else 0
        ids = dict(Stock.objects.filter(code__in=names).values_list("code", "id"))
        before = DailyQuote.objects.filter(trade_date__in=dates).count()
        DailyQuote.objects.bulk_create(
            [_row(quote, ids[quote.code]) for quote in quotes],
            batch_size=_BATCH,
            update_conflicts=True,
            unique_fields=["stock", "trade_date"],
            update_fields=_STORED_FIELDS,
        )
        created = DailyQuote.objects.filter(trade_date__in=dates).count() - before
    return StoreResult(
        quotes=len(quotes),
        created=created,
        updated=len(quotes) - created,
        new_stocks=sum(new_by_type.values()),
        new_by_type=new_by_type,
        refreshed=refreshed,
    )


def stocks_deactivate_absent(*, market: str, day: dt.date, types: Collection[str]) -> int:
    """Mark inactive the stocks of ``market`` (of the stored ``types``) absent from its feed for
    STOCK_INACTIVE_AFTER_TRADING_DAYS trading days up to ``day``; their history is kept.

    A stock never seen in a feed (shipped in the master) counts from the day it joined the master.
    """
    days = settings.STOCK_INACTIVE_AFTER_TRADING_DAYS
    recent = calendar.trading_days(day - dt.timedelta(days=days * 3 + 31), day)
    if len(recent) < days:
        return 0
    cutoff = recent[-days]
    cutoff_start = dt.datetime.combine(cutoff, dt.time.min, tzinfo=calendar.TAIPEI)
    absent = Stock.objects.filter(market=market, instrument_type__in=types, is_active=True).filter(
        Q(last_seen_on__lt=cutoff) | Q(last_seen_on__isnull=True, created_at__lt=cutoff_start)
    )
    return absent.update(is_active=False, updated_at=timezone.now())


# --- The after-close fetch ----------------------------------------------------------------------------

# With nothing stored to compare a date-less feed with, it is trusted only this long after the close on
# the day itself (TWSE publishes at about 14:30).
_UNDATED_TRUSTED_AFTER = dt.time(15, 30)
# Share of comparable rows whose close minus change must equal the stored previous close.
_UNDATED_FOLLOWS_SHARE = Decimal("0.9")


def _undated_serves(quotes: Sequence[Quote], *, day: dt.date, moment: dt.datetime) -> bool:
    """Whether a feed without dates serves ``day``: the calendar says ``day`` is the latest closed trading day
    and the moves start from the stored closes of the trading day before (a feed still serving that day
    has moves that start a day earlier). Without stored closes, only late enough on ``day`` itself."""
    if calendar.latest_closed_trading_day(moment) != day:
        return False
    previous = calendar.previous_trading_day(day)
    closes = dict(
        DailyQuote.objects.filter(
            trade_date=previous, close__isnull=False, stock__code__in=[q.code for q in quotes]
        ).values_list("stock__code", "close")
    )
    pairs = [
        (quote.close - quote.change, closes[quote.code])
        for quote in quotes
        if quote.close is not None and quote.change is not None and quote.code in closes
    ]
    if pairs:
        follows = sum(1 for start, stored in pairs if start == stored)
        return follows >= _UNDATED_FOLLOWS_SHARE * len(pairs)
    local = timezone.localtime(moment, calendar.TAIPEI)
    return local.date() == day and local.time() >= _UNDATED_TRUSTED_AFTER


def _fresh_quotes(read: FeedRead, *, name: str, day: dt.date, moment: dt.datetime) -> list[Quote]:
    quotes = read.quotes
    latest = max((quote.trade_date for quote in quotes), default=None)
    if latest is None or latest < day:
        raise QuotesNotPublishedYet(
            _("%(source)s has not published %(day)s yet (its latest data is for %(latest)s).")
            % {"source": name, "day": day, "latest": latest or _("no day at all")}
        )
    if latest > day:
        raise QuoteStoreError(
            _("%(source)s serves %(latest)s, not %(day)s: the exchanges only serve their latest day.")
            % {"source": name, "day": day, "latest": latest}
        )
    if read.undated and not _undated_serves(
        [q for q in quotes if q.trade_date == day], day=day, moment=moment
    ):
        raise QuotesNotPublishedYet(
            _(
                "%(source)s answers without dates and its moves do not start from the stored closes of the "
                "trading day before %(day)s: it still serves an earlier day."
            )
            % {"source": name, "day": day}
        )
    # Each row keeps its own date; rows of an earlier day in the same answer are left out, never relabelled.
    fresh = [quote for quote in quotes if quote.trade_date == day]
    if len(fresh) < len(quotes):
        read.skipped[REASON_EARLIER_DAY] += len(quotes) - len(fresh)
        logger.warning("%s: %d rows dated before %s left out", name, len(quotes) - len(fresh), day)
    return fresh


def _fetch_from(provider: QuoteProvider, *, day: dt.date, moment: dt.datetime) -> FeedOutcome:
    types = list(settings.QUOTES_STORED_TYPES)
    read = provider.fetch_latest(default_date=day, types=types)
    fresh = _fresh_quotes(read, name=provider.name, day=day, moment=moment)
    stored = quotes_store(quotes=fresh, source=provider.market)
    deactivated = stocks_deactivate_absent(market=provider.market, day=day, types=types)
    return FeedOutcome(
        source=provider.name,
        rows=read.rows,
        skipped=dict(read.skipped),
        not_stored=dict(read.not_stored),
        undated=read.undated,
        problems=list(read.problems),
        stored=dataclasses.replace(stored, deactivated=deactivated),
    )


def _raise_failures(errors: list[MarketDataError], waiting: list[ServiceError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        if all(isinstance(error, SourceBlocked) for error in errors):
            raise SourceBlocked(
                " ".join(error.message for error in errors),
                source=", ".join(error.source for error in errors),
            )
        raise MarketDataError(
            " ".join(error.message for error in errors), source=", ".join(error.source for error in errors)
        )
    if len(waiting) == 1:
        raise waiting[0]
    if waiting:
        joined = " ".join(error.message for error in waiting)
        if any(isinstance(error, QuoteStoreError) for error in waiting):
            raise QuoteStoreError(joined)
        raise QuotesNotPublishedYet(joined)


def _day_to_fetch(moment: dt.datetime, day: dt.date | None) -> tuple[dt.date | None, str]:
    if day is None:
        today = timezone.localdate(moment, calendar.TAIPEI)
        if not calendar.is_trading_day(today):
            return None, _("%(day)s is not a trading day: nothing to fetch.") % {"day": today}
        return calendar.latest_closed_trading_day(moment), ""
    if not calendar.is_trading_day(day):
        return None, _("%(day)s is not a trading day: nothing to fetch.") % {"day": day}
    if day > calendar.latest_closed_trading_day(moment):
        raise QuoteStoreError(
            _("%(day)s has not closed yet: its quotes cannot be fetched before 13:30 that day.")
            % {"day": day}
        )
    return day, ""


def quotes_fetch_day(
    *,
    now: dt.datetime | None = None,
    providers: Sequence[QuoteProvider] | None = None,
    day: dt.date | None = None,
) -> FetchDayResult:
    """Store the quotes of the latest closed trading day (or ``day``) from every provider (TWSE and TPEx).

    Each feed keeps only the instrument types of QUOTES_STORED_TYPES; a bad row is skipped and counted,
    and a feed fails only when its stock rows cannot be read or too many rows are bad. A provider still
    serving an earlier day raises QuotesNotPublishedYet after the others are stored, so a retry picks it up
    later; nothing of an earlier day is ever stored as this one. A blocked source raises SourceBlocked,
    retried later too. ``day`` other than the latest closed day only works while an exchange still serves it.
    """
    moment = now or timezone.now()
    fetch_day, message = _day_to_fetch(moment, day)
    if fetch_day is None:
        return FetchDayResult(trade_date=None, message=message)
    feeds: dict[str, FeedOutcome] = {}
    errors: list[MarketDataError] = []
    waiting: list[ServiceError] = []
    for provider in providers if providers is not None else default_providers():
        try:
            feeds[provider.name] = _fetch_from(provider, day=fetch_day, moment=moment)
        except (QuotesNotPublishedYet, QuoteStoreError) as exc:
            waiting.append(exc)
        except MarketDataError as exc:
            errors.append(exc)
    for name, outcome in feeds.items():
        logger.info("%s quotes for %s: %s", name, fetch_day, outcome)
    _raise_failures(errors, waiting)
    return FetchDayResult(
        trade_date=fetch_day,
        message=_("Quotes for %(day)s stored from %(sources)s.")
        % {"day": fetch_day, "sources": ", ".join(feeds)},
        stored={name: outcome.stored for name, outcome in feeds.items()},
        feeds=feeds,
    )


# --- CSV import of history ----------------------------------------------------------------------------


# --- History backfill (FinLab) ------------------------------------------------------------------------
