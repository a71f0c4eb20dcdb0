"""Daily quotes: the idempotent store, the after-close fetch, and the CSV import of history.

Every entry point (the beat task, ``manage.py import_quotes``) goes through ``quotes_store``.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from market import calendar
from market.clients.http import MarketDataError
from market.clients.quotes import Quote, parse_change, parse_price, parse_whole
from market.models import DailyQuote, Market, Stock
from market.providers import FinLabHistory, QuoteProvider, default_providers

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


class QuoteImportError(ServiceError):
    code = "quote_import_invalid"


@dataclass(frozen=True)
class StoreResult:
    quotes: int = 0
    created: int = 0
    updated: int = 0
    new_stocks: int = 0


@dataclass(frozen=True)
class FetchDayResult:
    trade_date: dt.date | None
    message: str
    stored: dict[str, StoreResult] = field(default_factory=dict)


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


def _stock_ids(quotes: Sequence[Quote], *, market: str) -> tuple[dict[str, int], int]:
    """Ids by code; codes the master lacks join it with the feed's name, the source's market, no industry."""
    names = {quote.code: quote.name for quote in quotes}
    known = dict(Stock.objects.filter(code__in=names).values_list("code", "id"))
    missing = [code for code in names if code not in known]
    for code in missing:
        if not names[code]:
            raise QuoteStoreError(
                _("Stock %(code)s is not in the stock master and the data gives no name for it.")
                % {"code": code}
            )
    Stock.objects.bulk_create(
        [Stock(code=code, name=names[code][:_NAME_MAX], market=market) for code in missing],
        ignore_conflicts=True,
        batch_size=_BATCH,
    )
    if market:
        # A stock loaded without a market learns it from the exchange that lists it.
        Stock.objects.filter(code__in=names, market="").update(market=market, updated_at=timezone.now())
    ids = dict(Stock.objects.filter(code__in=names).values_list("code", "id"))
    return ids, len(missing)


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
    it becomes the market of stocks that join the master here.
    """
    if source not in {*Market.values, ""}:
        raise QuoteStoreError(_("Unknown quote source %(source)r.") % {"source": source})
    if not quotes:
        return StoreResult()
    _check_batch(quotes)
    dates = sorted({quote.trade_date for quote in quotes})
    with transaction.atomic():
        ids, new_stocks = _stock_ids(quotes, market=source)
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
        quotes=len(quotes), created=created, updated=len(quotes) - created, new_stocks=new_stocks
    )


# --- The after-close fetch ----------------------------------------------------------------------------


def _fetch_from(provider: QuoteProvider, *, day: dt.date) -> StoreResult:
    quotes = provider.fetch_latest()
    latest = max((quote.trade_date for quote in quotes), default=None)
    if latest is None or latest < day:
        raise QuotesNotPublishedYet(
            _("%(source)s has not published %(day)s yet (its latest data is for %(latest)s).")
            % {"source": provider.name, "day": day, "latest": latest or _("no day at all")}
        )
    # Each row keeps its own date; rows of an earlier day in the same answer are left out, never relabelled.
    fresh = [quote for quote in quotes if quote.trade_date == latest]
    if len(fresh) < len(quotes):
        logger.warning(
            "%s: %d rows dated before %s left out", provider.name, len(quotes) - len(fresh), latest
        )
    return quotes_store(quotes=fresh, source=provider.market)


def _raise_failures(errors: list[MarketDataError], waiting: list[QuotesNotPublishedYet]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise MarketDataError(
            " ".join(error.message for error in errors), source=", ".join(error.source for error in errors)
        )
    if waiting:
        raise QuotesNotPublishedYet(" ".join(error.message for error in waiting))


def quotes_fetch_day(
    *, now: dt.datetime | None = None, providers: Sequence[QuoteProvider] | None = None
) -> FetchDayResult:
    """Store the quotes of the latest closed trading day from every provider (TWSE and TPEx by default).

    A provider still serving an earlier day raises QuotesNotPublishedYet after the others are stored,
    so a retry picks it up later; nothing of an earlier day is ever stored as this one.
    """
    moment = now or timezone.now()
    today = timezone.localdate(moment, calendar.TAIPEI)
    if not calendar.is_trading_day(today):
        return FetchDayResult(
            trade_date=None, message=_("%(day)s is not a trading day: nothing to fetch.") % {"day": today}
        )
    day = calendar.latest_closed_trading_day(moment)
    stored: dict[str, StoreResult] = {}
    errors: list[MarketDataError] = []
    waiting: list[QuotesNotPublishedYet] = []
    for provider in providers if providers is not None else default_providers():
        try:
            stored[provider.name] = _fetch_from(provider, day=day)
        except QuotesNotPublishedYet as exc:
            waiting.append(exc)
        except MarketDataError as exc:
            errors.append(exc)
    for name, result in stored.items():
        logger.info("%s quotes for %s stored: %s", name, day, result)
    _raise_failures(errors, waiting)
    return FetchDayResult(
        trade_date=day,
        message=_("Quotes for %(day)s stored from %(sources)s.") % {"day": day, "sources": ", ".join(stored)},
        stored=stored,
    )


# --- CSV import of history ----------------------------------------------------------------------------

_CSV_REQUIRED = ("code", "date", "open", "high", "low", "close", "volume", "turnover")
_CSV_OPTIONAL = ("change", "transactions")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: str) -> dt.date:
    if not _ISO_DATE.match(value.strip()):
        raise ValueError(_("not a date like 2025-11-26"))
    return dt.date.fromisoformat(value.strip())


def _required_whole(value: str) -> int:
    number = parse_whole(value)
    if number is None:
        raise ValueError(_("empty; a whole number is required"))
    return number


class _CsvRow:
    """One CSV row; every error names the row (the header is row 1) and the column."""

    def __init__(self, row: dict[str, Any], number: int) -> None:
        self.row = row
        self.number = number

    def fail(self, column: str, problem: str) -> QuoteImportError:
        return QuoteImportError(
            _("Row %(row)s, column %(column)s: %(problem)s")
            % {"row": self.number, "column": column, "problem": problem},
            fields={column: [problem]},
        )

    def read(self, column: str, parser: Callable[[str], Any]) -> Any:
        value = self.row.get(column) or ""
        try:
            return parser(value)
        except ValueError as exc:
            raise self.fail(
                column, _("%(value)r is %(problem)s.") % {"value": value, "problem": exc}
            ) from exc


def _quote_from_csv(row: _CsvRow, *, today: dt.date) -> Quote:
    quote = Quote(
        trade_date=row.read("date", _iso_date),
        code=row.read("code", str.strip),
        name="",
        open=row.read("open", parse_price),
        high=row.read("high", parse_price),
        low=row.read("low", parse_price),
        close=row.read("close", parse_price),
        change=row.read("change", parse_change),
        volume=row.read("volume", _required_whole),
        turnover=row.read("turnover", _required_whole),
        transactions=row.read("transactions", parse_whole),
    )
    _check_csv_quote(row, quote, today=today)
    return quote


def _check_csv_quote(row: _CsvRow, quote: Quote, *, today: dt.date) -> None:
    if not quote.code:
        raise row.fail("code", _("the stock code is empty."))
    if quote.trade_date > today:
        raise row.fail("date", _("%(day)s is in the future.") % {"day": quote.trade_date})
    if quote.high is not None and quote.low is not None:
        if quote.high < quote.low:
            raise row.fail(
                "high", _("high %(high)s is below low %(low)s.") % {"high": quote.high, "low": quote.low}
            )
        for column in ("open", "close"):
            price = getattr(quote, column)
            if price is not None and not quote.low <= price <= quote.high:
                raise row.fail(column, _("%(price)s is outside the day's low-high range.") % {"price": price})


def _read_quote_csv(path: Path) -> list[Quote]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in _CSV_REQUIRED if column not in (reader.fieldnames or [])]
        if missing:
            raise QuoteImportError(
                _("Row 1: %(file)s lacks the column(s) %(columns)s.")
                % {"file": path.name, "columns": ", ".join(missing)}
            )
        today = timezone.localdate(timezone=calendar.TAIPEI)
        known = set(Stock.objects.values_list("code", flat=True))
        seen: dict[tuple[str, dt.date], int] = {}
        quotes: list[Quote] = []
        for number, raw in enumerate(reader, start=2):
            row = _CsvRow(raw, number)
            quote = _quote_from_csv(row, today=today)
            if quote.code not in known:
                raise row.fail(
                    "code",
                    _("%(code)s is not in the stock master (load it first: manage.py load_stocks).")
                    % {"code": quote.code},
                )
            first = seen.setdefault((quote.code, quote.trade_date), number)
            if first != number:
                raise row.fail(
                    "date",
                    _("%(code)s on %(day)s is already in row %(first)s.")
                    % {"code": quote.code, "day": quote.trade_date, "first": first},
                )
            quotes.append(quote)
    if not quotes:
        raise QuoteImportError(_("%(file)s has no quote rows.") % {"file": path.name})
    return quotes


def quotes_import_csv(*, path: Path) -> StoreResult:
    """Import history from CSV (code,date,open,high,low,close,volume,turnover[,change,transactions]).

    Every row is checked before anything is stored: one bad row stores nothing and the error names
    its row and column. Codes must already be in the stock master.
    """
    return quotes_store(quotes=_read_quote_csv(path), source="")


# --- History backfill (FinLab) ------------------------------------------------------------------------


@dataclass
class BackfillResult:
    """What a backfill stored and what it left out, and why (so far, when it stopped on an error)."""

    trading_days: int = 0
    created: int = 0
    updated: int = 0
    kept: int = 0  # already stored and kept (no overwrite)
    no_close: int = 0  # suspended, not yet listed or delisted that day
    incomplete: int = 0  # a close without its volume or turnover: never filled in
    unknown: Counter[str] = field(default_factory=Counter)  # codes outside the stock master


class BackfillError(ServiceError):
    """A backfill stopped; ``result`` holds the months stored before it (they stay stored)."""

    code = "backfill_failed"

    def __init__(self, message: str, *, result: BackfillResult) -> None:
        super().__init__(message)
        self.result = result


def _months(start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    while start <= end:
        next_month = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        yield start, min(end, next_month - dt.timedelta(days=1))
        start = next_month


def quotes_backfill(
    *, history: FinLabHistory, start: dt.date, end: dt.date, overwrite: bool = False
) -> BackfillResult:
    """Store history from ``start`` to ``end`` month by month, one transaction per month.

    A failure keeps the months already stored (BackfillError carries their counts) and running again is
    safe. Only stocks in the stock master are stored; the rest are counted. Rows already stored (from the
    exchanges' daily fetch or a CSV) are kept unless ``overwrite``: FinLab has no trade count, and the
    exchanges measure the change from the ex-rights reference price, so replacing their rows loses what
    they published.
    """
    codes = set(Stock.objects.values_list("code", flat=True))
    if not codes:
        raise QuoteStoreError(_("The stock master is empty: load it first with manage.py load_stocks."))
    result = BackfillResult()
    try:
        for first, last in _months(start, end):
            month = history.fetch_range(first, last, codes=codes)
            quotes = month.quotes
            if not overwrite:
                stored = set(
                    DailyQuote.objects.filter(trade_date__gte=first, trade_date__lte=last).values_list(
                        "stock__code", "trade_date"
                    )
                )
                quotes = [quote for quote in quotes if (quote.code, quote.trade_date) not in stored]
            done = quotes_store(quotes=quotes, source="")
            result.trading_days += month.trading_days
            result.created += done.created
            result.updated += done.updated
            result.kept += len(month.quotes) - len(quotes)
            result.no_close += month.no_close
            result.incomplete += month.incomplete
            result.unknown.update(month.unknown_codes)
    except (MarketDataError, QuoteStoreError) as exc:
        raise BackfillError(exc.message, result=result) from exc
    return result
