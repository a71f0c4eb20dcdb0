"""CSV import of daily-quote history: strict validation (a bad row names its row and column and stores
nothing), and the day's move derived from the previous stored close when a row has none.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from market import calendar
from market.clients.quotes import Quote, parse_change, parse_price, parse_whole
from market.models import DailyQuote, Stock
from market.quotes import StoreResult, quotes_store


class QuoteImportError(ServiceError):
    code = "quote_import_invalid"


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


def _previous_days(days: set[dt.date]) -> dict[dt.date, dt.date]:
    """Each day's previous trading day, from one read of the calendar."""
    ordered = calendar.trading_days(min(days) - dt.timedelta(days=40), max(days))
    previous: dict[dt.date, dt.date] = {}
    for day in days:
        index = bisect.bisect_left(ordered, day)
        if index > 0:
            previous[day] = ordered[index - 1]
    return previous


def _with_changes(quotes: list[Quote]) -> tuple[list[Quote], int]:
    """A row without a change gets close − the close of the previous trading day, from the same file or the
    stored quotes; without that close it stays empty (never a move across a gap, never a guess)."""
    missing = [quote for quote in quotes if quote.change is None and quote.close is not None]
    if not missing:
        return quotes, 0
    previous = _previous_days({quote.trade_date for quote in missing})
    in_file = {(quote.code, quote.trade_date): quote.close for quote in quotes if quote.close is not None}
    stored = {
        (code, day): close
        for code, day, close in DailyQuote.objects.filter(
            stock__code__in={quote.code for quote in missing},
            trade_date__in=set(previous.values()),
            close__isnull=False,
        ).values_list("stock__code", "trade_date", "close")
    }
    derived = 0
    result: list[Quote] = []
    for quote in quotes:
        day = previous.get(quote.trade_date)
        if quote.change is None and quote.close is not None and day is not None:
            before = in_file.get((quote.code, day), stored.get((quote.code, day)))
            if before is not None:
                quote = dataclasses.replace(quote, change=quote.close - before)
                derived += 1
        result.append(quote)
    return result, derived


def quotes_import_csv(*, path: Path) -> StoreResult:
    """Import history from CSV (code,date,open,high,low,close,volume,turnover[,change,transactions]).

    Every row is checked before anything is stored: one bad row stores nothing and the error names
    its row and column. Codes must already be in the stock master. A row without ``change`` gets the
    close minus the previous trading day's close (in the file or already stored), so the snapshot's change,
    change % and previous close are filled as the triggers see them; without that close it stays empty.
    """
    quotes, derived = _with_changes(_read_quote_csv(path))
    return dataclasses.replace(quotes_store(quotes=quotes, source=""), changes_derived=derived)
