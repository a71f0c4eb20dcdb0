"""Whole-market triggers on one day's moves: limits, gainers and losers, turnover, volume surges."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from scheduling.trigger_types import TriggerType
from scheduling.triggers.market_day import (
    MarketDay,
    active_stocks,
    market_day_load,
    price_numbers,
    result_build,
    turnover_change_pct,
)
from scheduling.triggers.results import Exclusion, Pick, TriggerResult
from scheduling.triggers.snapshot import StockDay, previous_turnover_exclusion, rounded


def _with_change(day: MarketDay) -> tuple[list[tuple[StockDay, Decimal]], list[Exclusion]]:
    """Every stock with a change from the previous close; the rest as exclusions."""
    usable: list[tuple[StockDay, Decimal]] = []
    excluded: list[Exclusion] = []
    for row in day.rows:
        problem = day.exclusion(row, previous=True)
        change = row.change_pct
        if problem is not None or change is None:
            excluded.extend([problem] if problem else [])
            continue
        usable.append((row, change))
    return usable, excluded


def _move_pick(row: StockDay, change: Decimal, day: MarketDay, reason: dict[str, Any], summary: str) -> Pick:
    # Ties on the change go to the stock with more money behind the move, then to the code.
    direction = -1 if change >= 0 else 1
    return Pick(
        stock_id=row.stock_id,
        order=(direction * change, -row.turnover, row.code),
        score=rounded(abs(change)),
        summary=summary,
        reasons=[{**reason, **price_numbers(row, day), "turnover_twd": row.turnover}],
    )


def _sentence_values(row: StockDay, change: Decimal, **extra: Any) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "close": row.close,
        "previous": row.previous_close,
        "change": rounded(abs(change)),
        "turnover": f"{row.turnover:,}",
        **extra,
    }


def _limit(config: dict[str, Any], as_of: dt.date | None, *, up: bool) -> TriggerResult:
    trigger_type = TriggerType.LIMIT_UP if up else TriggerType.LIMIT_DOWN
    threshold = Decimal(str(config["threshold_pct"]))
    day = market_day_load(stocks=active_stocks(config), as_of=as_of, previous=True)
    usable, excluded = _with_change(day)
    if up:
        sentence = _(
            "%(code)s %(name)s closed at %(close)s, up %(change)s%% from %(previous)s: at or above the "
            "%(threshold)s%% limit-up threshold."
        )
    else:
        sentence = _(
            "%(code)s %(name)s closed at %(close)s, down %(change)s%% from %(previous)s: at or beyond the "
            "-%(threshold)s%% limit-down threshold."
        )
    picks = [
        _move_pick(
            row,
            change,
            day,
            {"code": trigger_type.value, "threshold_pct": float(threshold)},
            sentence % _sentence_values(row, change, threshold=float(threshold)),
        )
        for row, change in usable
        if (change >= threshold if up else change <= -threshold)
    ]
    return result_build(trigger_type=trigger_type, config=config, day=day, picks=picks, excluded=excluded)


def limit_up(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    return _limit(config, as_of, up=True)


def limit_down(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    return _limit(config, as_of, up=False)


def _top(config: dict[str, Any], as_of: dt.date | None, *, gainers: bool) -> TriggerResult:
    trigger_type = TriggerType.TOP_GAINERS if gainers else TriggerType.TOP_LOSERS
    day = market_day_load(stocks=active_stocks(config), as_of=as_of, previous=True)
    usable, excluded = _with_change(day)
    if gainers:
        sentence = _("%(code)s %(name)s rose %(change)s%% to %(close)s (turnover %(turnover)s TWD).")
    else:
        sentence = _("%(code)s %(name)s fell %(change)s%% to %(close)s (turnover %(turnover)s TWD).")
    code = "top_gainer" if gainers else "top_loser"
    picks = [
        _move_pick(row, change, day, {"code": code}, sentence % _sentence_values(row, change))
        for row, change in usable
        # An unchanged stock is neither; on a day when everything fell there are no gainers.
        if (change > 0 if gainers else change < 0)
    ]
    return result_build(trigger_type=trigger_type, config=config, day=day, picks=picks, excluded=excluded)


def top_gainers(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    return _top(config, as_of, gainers=True)


def top_losers(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    return _top(config, as_of, gainers=False)


def turnover_leaders(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    day = market_day_load(stocks=active_stocks(config), as_of=as_of)
    picks: list[Pick] = []
    excluded: list[Exclusion] = []
    sentence = _("%(code)s %(name)s traded %(turnover)s TWD on %(day)s, closing at %(close)s.")
    for row in day.rows:
        problem = day.exclusion(row)
        if problem is not None:
            excluded.append(problem)
            continue
        values = {"code": row.code, "name": row.name, "turnover": f"{row.turnover:,}", "close": row.close}
        picks.append(
            Pick(
                stock_id=row.stock_id,
                order=(-row.turnover, row.code),
                score=float(row.turnover),
                summary=sentence % {**values, "day": day.as_of.isoformat()},
                reasons=[
                    {
                        "code": "turnover_leader",
                        "turnover_twd": row.turnover,
                        "volume": row.volume,
                        **price_numbers(row, day),
                    }
                ],
            )
        )
    return result_build(
        trigger_type=TriggerType.TURNOVER_LEADERS, config=config, day=day, picks=picks, excluded=excluded
    )


def turnover_change(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    day = market_day_load(stocks=active_stocks(config), as_of=as_of, previous=True)
    assert day.previous_day is not None
    minimum = Decimal(str(config["min_change_pct"]))
    floor = Decimal(str(config["min_turnover_twd"]))
    picks: list[Pick] = []
    excluded: list[Exclusion] = []
    for row in day.rows:
        problem = day.exclusion(row) or previous_turnover_exclusion(row, day.previous_day)
        if problem is not None:
            excluded.append(problem)
            continue
        change = turnover_change_pct(row)
        if change >= minimum and row.turnover >= floor:
            picks.append(_turnover_change_pick(row, change, day, config))
    return result_build(
        trigger_type=TriggerType.TURNOVER_CHANGE, config=config, day=day, picks=picks, excluded=excluded
    )


def _turnover_change_pick(row: StockDay, change: Decimal, day: MarketDay, config: dict[str, Any]) -> Pick:
    assert day.previous_day is not None
    sentence = _(
        "%(code)s %(name)s traded %(turnover)s TWD, %(change)s%% more than the %(previous)s TWD of "
        "%(previous_day)s."
    )
    values = {
        "code": row.code,
        "name": row.name,
        "turnover": f"{row.turnover:,}",
        "previous": f"{row.previous_turnover:,}",
        "change": rounded(change),
        "previous_day": day.previous_day.isoformat(),
    }
    reason = {
        "code": "turnover_change",
        "trade_date": day.as_of.isoformat(),
        "previous_day": day.previous_day.isoformat(),
        "turnover_twd": row.turnover,
        "previous_turnover_twd": row.previous_turnover,
        "turnover_change_pct": rounded(change),
        "min_change_pct": config["min_change_pct"],
    }
    return Pick(
        stock_id=row.stock_id,
        order=(-change, -row.turnover, row.code),
        score=rounded(change),
        summary=sentence % values,
        reasons=[reason],
    )


def volume_surge(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    lookback = config["lookback_days"]
    day = market_day_load(stocks=active_stocks(config), as_of=as_of, lookback_days=lookback)
    threshold = Decimal(str(config["ratio"]))
    picks: list[Pick] = []
    excluded: list[Exclusion] = []
    for row in day.rows:
        problem = day.exclusion(row, history=True)
        ratio = day.volume_ratio(row)
        if problem is not None or ratio is None:
            excluded.extend([problem] if problem else [])
            continue
        if ratio >= threshold:
            picks.append(_surge_pick(row, ratio, day, config))
    return result_build(
        trigger_type=TriggerType.VOLUME_SURGE, config=config, day=day, picks=picks, excluded=excluded
    )


def volume_numbers(row: StockDay, ratio: Decimal, day: MarketDay) -> dict[str, Any]:
    history = day.history[row.stock_id]
    return {
        "volume": row.volume,
        "average_volume": rounded(history.average, 0),
        "volume_ratio": rounded(ratio),
        "lookback_days": len(day.lookback),
    }


def _surge_pick(row: StockDay, ratio: Decimal, day: MarketDay, config: dict[str, Any]) -> Pick:
    numbers = volume_numbers(row, ratio, day)
    sentence = _(
        "%(code)s %(name)s traded %(volume)s shares, %(ratio)s times its %(days)s-day average of %(average)s."
    )
    values = {
        "code": row.code,
        "name": row.name,
        "volume": f"{row.volume:,}",
        "ratio": numbers["volume_ratio"],
        "days": numbers["lookback_days"],
        "average": f"{int(numbers['average_volume']):,}",
    }
    reason = {
        "code": "volume_surge",
        "trade_date": day.as_of.isoformat(),
        **numbers,
        "ratio_threshold": config["ratio"],
        "close": rounded(row.close) if row.close is not None else None,
    }
    return Pick(
        stock_id=row.stock_id,
        order=(-ratio, -row.turnover, row.code),
        score=rounded(ratio),
        summary=sentence % values,
        reasons=[reason],
    )
