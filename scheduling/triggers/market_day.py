"""Loading the day a quote-based trigger evaluates, and turning its picks into a ranked result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from market.models import InstrumentType, Stock
from scheduling.triggers.days import resolve_as_of, trading_days_before
from scheduling.triggers.results import Exclusion, Pick, TriggerResult, candidates_rank
from scheduling.triggers.snapshot import (
    StockDay,
    VolumeHistory,
    day_exclusion,
    history_exclusion,
    pct_change,
    previous_exclusion,
    rounded,
    stock_days,
    volume_history,
)

# Below this many stocks, averaging volume only for them beats one pass over the whole market.
_SCOPED_HISTORY_MAX = 500


@dataclass(frozen=True)
class MarketDay:
    as_of: dt.date
    previous_day: dt.date | None
    rows: list[StockDay]
    lookback: list[dt.date] = field(default_factory=list)
    history: dict[int, VolumeHistory] = field(default_factory=dict)

    def volume_ratio(self, row: StockDay) -> Decimal | None:
        history = self.history.get(row.stock_id)
        if history is None or history.average <= 0:
            return None
        return Decimal(row.volume) / history.average

    def exclusion(self, row: StockDay, *, previous: bool = False, history: bool = False) -> Exclusion | None:
        """The first reason ``row`` cannot be judged with the data this trigger needs, if any."""
        found = day_exclusion(row, self.as_of)
        if found is None and previous and self.previous_day is not None:
            found = previous_exclusion(row, self.previous_day)
        if found is None and history:
            found = history_exclusion(row, self.history.get(row.stock_id), self.lookback)
        return found


def active_stocks(config: dict[str, Any] | None = None) -> QuerySet[Stock]:
    """The active common stocks, with ETFs too when ``config`` has ``include_etfs``: never warrants, ETNs, ..."""
    types = [InstrumentType.COMMON]
    if config and config.get("include_etfs"):
        types.append(InstrumentType.ETF)
    return Stock.objects.filter(is_active=True, instrument_type__in=types)


def market_day_load(
    *, stocks: QuerySet[Stock], as_of: dt.date | None, previous: bool = False, lookback_days: int = 0
) -> MarketDay:
    day = resolve_as_of(as_of)
    lookback = trading_days_before(day, lookback_days) if lookback_days else []
    previous_day = None
    if previous:
        previous_day = lookback[0] if lookback else trading_days_before(day, 1)[0]
    rows = stock_days(stocks=stocks, as_of=day, previous_day=previous_day)
    history: dict[int, VolumeHistory] = {}
    if lookback:
        scoped = [row.stock_id for row in rows] if len(rows) <= _SCOPED_HISTORY_MAX else None
        history = volume_history(days=lookback, stock_ids=scoped)
    return MarketDay(as_of=day, previous_day=previous_day, rows=rows, lookback=lookback, history=history)


def result_build(
    *,
    trigger_type: str,
    config: dict[str, Any],
    day: MarketDay,
    picks: Sequence[Pick],
    excluded: list[Exclusion],
    notes: list[str] | None = None,
) -> TriggerResult:
    return TriggerResult(
        trigger_type=trigger_type,
        config=config,
        as_of=day.as_of,
        previous_day=day.previous_day,
        candidates=candidates_rank(trigger_type=trigger_type, limit=config.get("limit"), picks=picks),
        excluded=excluded,
        matched=len(picks),
        notes=notes or [],
    )


# --- Numbers shared by several triggers ----------------------------------------------------------------


def price_numbers(row: StockDay, day: MarketDay) -> dict[str, Any]:
    """Close, previous close and change, for reasons; the change only where a previous close exists."""
    numbers: dict[str, Any] = {"trade_date": day.as_of.isoformat(), "close": _price(row.close)}
    change = row.change_pct
    if change is not None:
        numbers["previous_close"] = _price(row.previous_close)
        numbers["change_pct"] = rounded(change)
    return numbers


def turnover_change_pct(row: StockDay) -> Decimal:
    return pct_change(row.turnover, row.previous_turnover)


def _price(value: Decimal | None) -> float | None:
    return None if value is None else rounded(value)
