"""The market on one day, one row per stock, read with a few set-based queries.

One query joins each stock to its quote on the evaluated day and on the previous trading day (two
filtered LEFT JOINs: a stock without a row simply has nothing there); one grouped query averages the
volume over the look-back days. Nothing reads the full history into Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, FilteredRelation, Q, QuerySet
from django.utils.translation import gettext as _

from market.models import DailyQuote, Stock
from scheduling.triggers.results import Exclusion

_HUNDRED = Decimal(100)


def _finite(value: Decimal | None) -> Decimal | None:
    # PostgreSQL's numeric can hold NaN (and NaN > 0 passes the positive-close check): treat it as missing.
    if value is None or not value.is_finite():
        return None
    return value


def pct_change(new: Decimal | int, old: Decimal | int) -> Decimal:
    return (Decimal(new) - Decimal(old)) * _HUNDRED / Decimal(old)


def rounded(value: Decimal, places: int = 2) -> float:
    return float(round(value, places))


@dataclass(frozen=True)
class StockDay:
    stock_id: int
    code: str
    name: str
    industry: str
    issued_shares: int | None
    has_quote: bool
    close: Decimal | None
    volume: int
    turnover: int
    has_previous: bool
    previous_close: Decimal | None
    previous_turnover: int

    @property
    def traded(self) -> bool:
        return self.has_quote and self.close is not None and self.volume > 0

    @property
    def change_pct(self) -> Decimal | None:
        if self.close is None or self.previous_close is None:
            return None
        return pct_change(self.close, self.previous_close)

    @property
    def market_cap(self) -> Decimal | None:
        if self.close is None or self.issued_shares is None:
            return None
        return self.close * self.issued_shares


@dataclass(frozen=True)
class VolumeHistory:
    average: Decimal
    traded_days: int


def stock_days(*, stocks: QuerySet[Stock], as_of: dt.date, previous_day: dt.date | None) -> list[StockDay]:
    """One row per stock in ``stocks`` (ordered by code) with its quote on ``as_of`` and ``previous_day``."""
    annotated = stocks.annotate(day=FilteredRelation("quotes", condition=Q(quotes__trade_date=as_of)))
    fields = ["pk", "code", "name", "industry", "issued_shares", "day__id", "day__close", "day__volume"]
    fields.append("day__turnover")
    if previous_day is not None:
        annotated = annotated.annotate(
            prev=FilteredRelation("quotes", condition=Q(quotes__trade_date=previous_day))
        )
        fields += ["prev__id", "prev__close", "prev__turnover"]
    return [_stock_day(row) for row in annotated.order_by("code").values(*fields)]


def _stock_day(row: dict[str, Any]) -> StockDay:
    return StockDay(
        stock_id=row["pk"],
        code=row["code"],
        name=row["name"],
        industry=row["industry"],
        issued_shares=row["issued_shares"],
        has_quote=row["day__id"] is not None,
        close=_finite(row["day__close"]),
        volume=row["day__volume"] or 0,
        turnover=row["day__turnover"] or 0,
        has_previous=row.get("prev__id") is not None,
        previous_close=_finite(row.get("prev__close")),
        previous_turnover=row.get("prev__turnover") or 0,
    )


def volume_history(*, days: list[dt.date], stock_ids: list[int] | None) -> dict[int, VolumeHistory]:
    """Per stock: the average volume over ``days`` and on how many of them it traded."""
    quotes = DailyQuote.objects.filter(trade_date__in=days)
    if stock_ids is not None:
        quotes = quotes.filter(stock_id__in=stock_ids)
    rows = (
        quotes.order_by()
        .values("stock_id")
        .annotate(average=Avg("volume"), traded=Count("id", filter=Q(volume__gt=0)))
        .values_list("stock_id", "average", "traded")
    )
    return {stock_id: VolumeHistory(Decimal(str(average)), traded) for stock_id, average, traded in rows}


def day_exclusion(row: StockDay, as_of: dt.date) -> Exclusion | None:
    """Why ``row`` cannot be judged on ``as_of`` at all: no quote stored, or no trade (suspended)."""
    details = {"trade_date": as_of.isoformat()}
    if not row.has_quote:
        message = _("%(code)s %(name)s has no quote stored for %(day)s.")
        return _exclusion(row, "missing_day", message, details)
    if not row.traded:
        message = _("%(code)s %(name)s did not trade on %(day)s (suspended: no close or zero volume).")
        return _exclusion(row, "suspended", message, details)
    return None


def previous_exclusion(row: StockDay, previous_day: dt.date) -> Exclusion | None:
    """Why ``row`` has no previous close to measure a change from."""
    details = {"previous_day": previous_day.isoformat()}
    if not row.has_previous:
        message = _("%(code)s %(name)s has no quote stored for the previous trading day %(day)s.")
        return _exclusion(row, "missing_previous_day", message, details)
    if row.previous_close is None:
        message = _("%(code)s %(name)s has no close on the previous trading day %(day)s (suspended).")
        return _exclusion(row, "no_previous_close", message, details)
    return None


def previous_turnover_exclusion(row: StockDay, previous_day: dt.date) -> Exclusion | None:
    found = previous_exclusion(row, previous_day)
    if found is None and row.previous_turnover <= 0:
        message = _("%(code)s %(name)s had no turnover on the previous trading day %(day)s.")
        found = _exclusion(row, "no_previous_turnover", message, {"previous_day": previous_day.isoformat()})
    return found


def history_exclusion(row: StockDay, history: VolumeHistory | None, days: list[dt.date]) -> Exclusion | None:
    """Why ``row`` has no trustworthy average volume over ``days`` (it must have traded on each)."""
    traded = history.traded_days if history is not None else 0
    if traded >= len(days):
        return None
    details = {"traded_days": traded, "lookback_days": len(days), "since": days[-1].isoformat()}
    message = _(
        "%(code)s %(name)s traded on only %(traded)s of the %(needed)s trading days before; its average "
        "volume would be misleading."
    )
    return Exclusion(
        stock_code=row.code,
        stock_name=row.name,
        code="insufficient_history",
        message=message % {"code": row.code, "name": row.name, "traded": traded, "needed": len(days)},
        details=details,
    )


def _exclusion(row: StockDay, code: str, message: str, details: dict[str, Any]) -> Exclusion:
    day = details.get("trade_date") or details.get("previous_day")
    return Exclusion(
        stock_code=row.code,
        stock_name=row.name,
        code=code,
        message=message % {"code": row.code, "name": row.name, "day": day},
        details=details,
    )
