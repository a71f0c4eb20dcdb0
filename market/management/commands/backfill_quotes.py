"""``manage.py backfill_quotes --source finlab --from 2024-01-01 [--to 2024-12-31] [--overwrite]``.

Parses the range, then calls ``market.backfill.quotes_backfill`` (month by month, one transaction per
month; rows already stored are kept unless ``--overwrite``) and reports what was stored and skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from market import calendar
from market.backfill import BackfillError, BackfillResult, quotes_backfill
from market.clients.finlab import DatasetReader, finlab_reader
from market.clients.http import MarketDataError
from market.providers import FinLabHistory
from market.quotes import QuoteStoreError

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CODES_SHOWN = 10


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
        try:
            totals = quotes_backfill(
                history=FinLabHistory(reader=reader), start=start, end=end, overwrite=options["overwrite"]
            )
        except BackfillError as exc:
            if exc.result.created or exc.result.updated:
                self._report(exc.result, start=start, end=end)
            raise CommandError(exc.message) from exc
        except QuoteStoreError as exc:
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

    def _report(self, totals: BackfillResult, *, start: dt.date, end: dt.date) -> None:
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

    def _skipped(self, totals: BackfillResult) -> list[str]:
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
