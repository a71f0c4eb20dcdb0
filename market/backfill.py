"""History backfill from FinLab: month by month, one transaction per month, what was stored and what was left out."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from market.clients.http import MarketDataError
from market.models import DailyQuote, Stock
from market.providers import FinLabHistory
from market.quotes import QuoteStoreError, quotes_store


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
