"""``manage.py backfill_quotes --source finlab --from 2024-01-01 [--to 2024-12-31] [--overwrite]``.

History goes in month by month through ``quotes_store`` (one transaction per month), so a failure keeps
the months already stored and running the same command again is safe. Only stocks in the stock master
are stored; the rest are reported. Rows already stored (from the exchanges' daily fetch or a CSV import)
are kept unless ``--overwrite``: FinLab has no trade count, and the exchanges' own change is measured
against the ex-rights reference price, so replacing their rows would lose what they published.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from market import calendar
from market.clients.finlab import DatasetReader, FinLabRange, finlab_reader
from market.clients.http import MarketDataError
from market.models import DailyQuote, Stock
from market.providers import FinLabHistory
from market.quotes import QuoteStoreError, quotes_store

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CODES_SHOWN = 10


@dataclass
class _Totals:
    trading_days: int = 0
    created: int = 0
    updated: int = 0
    kept: int = 0
    no_close: int = 0
    incomplete: int = 0
    unknown: Counter[str] = field(default_factory=Counter)


def _iso_date(text: str) -> dt.date | None:
    if not _ISO_DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:  # 2025-02-30 has the shape but is no day
        return None


def _date(value: str, *, option: str) -> dt.date:
    day = _iso_date(value.strip())
    if day is None:
        raise CommandError(
            _("%(option)s must be a date like 2024-01-31, got %(value)r.")
            % {"option": option, "value": value}
        )
    return day


def _months(start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    while start <= end:
        next_month = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        yield start, min(end, next_month - dt.timedelta(days=1))
        start = next_month


class Command(BaseCommand):
    help = (
        "Backfill daily quotes (history) from FinLab (needs FINLAB_API_KEY and the optional finlab package). "
        "Only stocks in the stock master are stored; rows already stored are kept unless --overwrite. "
        "Nothing is filled in: days without a close are left out. Running it again is safe."
    )

    def __init__(self, *args: Any, reader: DatasetReader | None = None, **kwargs: Any) -> None:
        # ``reader`` replaces FinLab's dataset access (tests, or another way to reach FinLab).
        super().__init__(*args, **kwargs)
        self.reader = reader

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source", required=True, choices=["finlab"], help="where the history comes from"
        )
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: today in Taipei)")
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="replace quotes already stored for those days with FinLab's (their trade count is emptied)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = self._range(options)
        try:
            # Before anything else, so a missing key or package is the one thing reported.
            reader = self.reader or finlab_reader()
        except MarketDataError as exc:
            raise CommandError(exc.message) from exc
        codes = set(Stock.objects.values_list("code", flat=True))
        if not codes:
            raise CommandError(_("The stock master is empty: load it first with manage.py load_stocks."))
        history = FinLabHistory(reader=reader)
        totals = _Totals()
        try:
            for first, last in _months(start, end):
                batch = history.fetch_range(first, last, codes=codes)
                self._store(batch, first=first, last=last, overwrite=options["overwrite"], totals=totals)
        except (MarketDataError, QuoteStoreError) as exc:
            if totals.created or totals.updated:
                self._report(totals, start=start, end=end)
            raise CommandError(exc.message) from exc
        self._report(totals, start=start, end=end)

    def _range(self, options: dict[str, Any]) -> tuple[dt.date, dt.date]:
        start = _date(options["start"], option="--from")
        if options["end"]:
            end = _date(options["end"], option="--to")
        else:
            end = timezone.localdate(timezone=calendar.TAIPEI)
        if start > end:
            raise CommandError(
                _("--from %(start)s is after the last day %(end)s: nothing to backfill.")
                % {"start": start, "end": end}
            )
        return start, end

    def _store(
        self, batch: FinLabRange, *, first: dt.date, last: dt.date, overwrite: bool, totals: _Totals
    ) -> None:
        quotes = batch.quotes
        if not overwrite:
            stored = set(
                DailyQuote.objects.filter(trade_date__gte=first, trade_date__lte=last).values_list(
                    "stock__code", "trade_date"
                )
            )
            quotes = [quote for quote in quotes if (quote.code, quote.trade_date) not in stored]
        result = quotes_store(quotes=quotes, source="")
        totals.trading_days += batch.trading_days
        totals.created += result.created
        totals.updated += result.updated
        totals.kept += len(batch.quotes) - len(quotes)
        totals.no_close += batch.no_close
        totals.incomplete += batch.incomplete
        totals.unknown.update(batch.unknown_codes)

    def _report(self, totals: _Totals, *, start: dt.date, end: dt.date) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "FinLab %(start)s to %(end)s (trading days with data: %(days)s): stored %(created)s, updated %(updated)s."
                )
                % {
                    "start": start,
                    "end": end,
                    "days": totals.trading_days,
                    "created": totals.created,
                    "updated": totals.updated,
                }
            )
        )
        for line in self._skipped(totals):
            self.stdout.write(line)

    def _skipped(self, totals: _Totals) -> list[str]:
        return [
            _("Skipped, already stored (kept; --overwrite replaces them): %(count)s.")
            % {"count": totals.kept},
            self._unknown(totals.unknown),
            _("Skipped, no close that day (suspended, not yet listed or delisted): %(count)s.")
            % {"count": totals.no_close},
            _("Skipped, a close without volume or turnover (never filled in): %(count)s.")
            % {"count": totals.incomplete},
        ]

    def _unknown(self, unknown: Counter[str]) -> str:
        if not unknown:
            return _("Skipped, codes not in the stock master: 0.")
        codes = sorted(unknown)
        shown = ", ".join(codes[:_CODES_SHOWN])
        if len(codes) > _CODES_SHOWN:
            shown += _(" and %(more)s more") % {"more": len(codes) - _CODES_SHOWN}
        return _(
            "Skipped, codes not in the stock master: %(rows)s (%(codes)s; add them with manage.py load_stocks first)."
        ) % {"rows": unknown.total(), "codes": shown}
