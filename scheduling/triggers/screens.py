"""Triggers over a chosen part of the market: named stocks, whole sectors, and the custom screen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from market.models import Stock
from scheduling.trigger_types import TriggerType
from scheduling.triggers.days import resolve_as_of, trading_days_before
from scheduling.triggers.errors import TriggerDataMissing, UnknownIndustryError, UnknownStockError
from scheduling.triggers.market_day import (
    MarketDay,
    active_stocks,
    market_day_load,
    price_numbers,
    result_build,
)
from scheduling.triggers.movers import volume_numbers
from scheduling.triggers.results import Exclusion, Pick, TriggerResult
from scheduling.triggers.snapshot import StockDay, rounded, stock_days

# --- individual ----------------------------------------------------------------------------------------


def individual(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    codes: list[str] = config["stock_codes"]
    known = {stock.code: stock for stock in Stock.objects.filter(code__in=codes)}
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise UnknownStockError(
            _("Unknown stock code(s), not in the stock master: %(codes)s.") % {"codes": ", ".join(unknown)},
            fields={"trigger_config": [f"stock_codes: {', '.join(unknown)}"]},
        )
    day, notes = _day_with_optional_previous(as_of, codes)
    rows = {row.code: row for row in day.rows}
    picks: list[Pick] = []
    excluded: list[Exclusion] = []
    for position, code in enumerate(codes):
        problem = _inactive(known[code]) or day.exclusion(rows[code])
        if problem is not None:
            excluded.append(problem)
            continue
        picks.append(_individual_pick(rows[code], position, day))
    return result_build(
        trigger_type=TriggerType.INDIVIDUAL,
        config=config,
        day=day,
        picks=picks,
        excluded=excluded,
        notes=notes,
    )


def _day_with_optional_previous(as_of: dt.date | None, codes: list[str]) -> tuple[MarketDay, list[str]]:
    """Named stocks are posted about whether or not yesterday is stored; the change is then left out."""
    day = resolve_as_of(as_of)
    notes: list[str] = []
    previous_day: dt.date | None
    try:
        previous_day = trading_days_before(day, 1)[0]
    except TriggerDataMissing as exc:
        previous_day = None
        notes.append(exc.message)
    rows = stock_days(stocks=Stock.objects.filter(code__in=codes), as_of=day, previous_day=previous_day)
    return MarketDay(as_of=day, previous_day=previous_day, rows=rows), notes


def _inactive(stock: Stock) -> Exclusion | None:
    if stock.is_active:
        return None
    return Exclusion(
        stock_code=stock.code,
        stock_name=stock.name,
        code="inactive",
        message=_("%(code)s %(name)s is marked inactive in the stock master.")
        % {"code": stock.code, "name": stock.name},
    )


def _individual_pick(row: StockDay, position: int, day: MarketDay) -> Pick:
    numbers = price_numbers(row, day)
    if "change_pct" in numbers:
        sentence = _("%(code)s %(name)s (chosen by code) closed at %(close)s, %(change)s%% on the day.")
    else:
        sentence = _("%(code)s %(name)s (chosen by code) closed at %(close)s; no previous close to compare.")
    values = {"code": row.code, "name": row.name, "close": row.close, "change": numbers.get("change_pct")}
    return Pick(
        stock_id=row.stock_id,
        # The order given is the order wanted.
        order=(position,),
        score=1.0,
        summary=sentence % values,
        reasons=[{"code": "individual", **numbers}],
    )


# --- metrics shared by sector and custom -----------------------------------------------------------------


def _metric(rank_by: str, row: StockDay, day: MarketDay) -> tuple[Decimal, dict[str, Any], str] | None:
    """The value to rank by, its numbers for the reasons, and a phrase; None when it cannot be known."""
    if rank_by == "change_pct":
        change = row.change_pct
        if change is None:
            return None
        phrase = _("%(change)s%% on the day") % {"change": rounded(change)}
        return change, price_numbers(row, day), phrase
    if rank_by == "volume_ratio":
        ratio = day.volume_ratio(row)
        if ratio is None:
            return None
        numbers = volume_numbers(row, ratio, day)
        phrase = _("volume %(ratio)s times its %(days)s-day average") % {
            "ratio": numbers["volume_ratio"],
            "days": numbers["lookback_days"],
        }
        return ratio, numbers, phrase
    if rank_by == "market_cap":
        cap = row.market_cap
        if cap is None:
            return None
        assert row.close is not None  # a market cap implies a close
        numbers = {
            "market_cap_twd": int(cap),
            "issued_shares": row.issued_shares,
            "close": rounded(row.close),
        }
        return cap, numbers, _("market cap %(cap)s TWD") % {"cap": f"{int(cap):,}"}
    numbers = {"turnover_twd": row.turnover, "volume": row.volume}
    return Decimal(row.turnover), numbers, _("turnover %(turnover)s TWD") % {"turnover": f"{row.turnover:,}"}


def _require_industries(industries: list[str]) -> None:
    present = set(Stock.objects.filter(industry__in=industries).values_list("industry", flat=True))
    unknown = [name for name in industries if name not in present]
    if not unknown:
        return
    known = sorted(set(Stock.objects.exclude(industry="").values_list("industry", flat=True)))
    raise UnknownIndustryError(
        _("Unknown industry name(s): %(unknown)s. Industries in the stock master: %(known)s.")
        % {"unknown": ", ".join(unknown), "known": ", ".join(known) or _("(none)")},
        fields={"trigger_config": [f"industries: {', '.join(unknown)}"]},
    )


def _no_issued_shares(row: StockDay) -> Exclusion:
    return Exclusion(
        stock_code=row.code,
        stock_name=row.name,
        code="no_issued_shares",
        message=_("%(code)s %(name)s has no issued share count, so its market cap is unknown.")
        % {"code": row.code, "name": row.name},
    )


# --- sector --------------------------------------------------------------------------------------------


def sector(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    industries: list[str] = config["industries"]
    rank_by: str = config["rank_by"]
    _require_industries(industries)
    needs_history = rank_by == "volume_ratio"
    day = market_day_load(
        stocks=active_stocks(config).filter(industry__in=industries),
        as_of=as_of,
        previous=rank_by == "change_pct",
        lookback_days=config["lookback_days"] if needs_history else 0,
    )
    picks: list[Pick] = []
    excluded: list[Exclusion] = []
    for row in day.rows:
        problem = day.exclusion(row, previous=rank_by == "change_pct", history=needs_history)
        metric = _metric(rank_by, row, day)
        if problem is not None or metric is None:
            excluded.extend([problem] if problem else [])
            continue
        value, numbers, phrase = metric
        picks.append(
            Pick(
                stock_id=row.stock_id,
                order=(-value, -row.turnover, row.code),
                score=rounded(value),
                summary=_("%(code)s %(name)s (%(industry)s): %(phrase)s.")
                % {"code": row.code, "name": row.name, "industry": row.industry, "phrase": phrase},
                reasons=[{"code": "sector", "industry": row.industry, "rank_by": rank_by, **numbers}],
            )
        )
    return result_build(
        trigger_type=TriggerType.SECTOR, config=config, day=day, picks=picks, excluded=excluded
    )


# --- custom --------------------------------------------------------------------------------------------


def _given(config: dict[str, Any], key: str) -> bool:
    return config.get(key) not in (None, {})


def custom(config: dict[str, Any], as_of: dt.date | None) -> TriggerResult:
    rank_by: str = config["rank_by"]
    stocks = active_stocks(config)
    if _given(config, "industries"):
        _require_industries(config["industries"])
        stocks = stocks.filter(industry__in=config["industries"])
    needs_history = _given(config, "volume_ratio_min") or rank_by == "volume_ratio"
    needs_previous = _given(config, "change_pct") or rank_by == "change_pct"
    needs_cap = _given(config, "market_cap_min_twd") or _given(config, "market_cap_max_twd")
    day = market_day_load(
        stocks=stocks,
        as_of=as_of,
        previous=needs_previous,
        lookback_days=config["lookback_days"] if needs_history else 0,
    )
    picks: list[Pick] = []
    excluded: list[Exclusion] = []
    for row in day.rows:
        problem = day.exclusion(row, previous=needs_previous, history=needs_history)
        if problem is None and (needs_cap or rank_by == "market_cap") and row.market_cap is None:
            problem = _no_issued_shares(row)
        if problem is not None:
            excluded.append(problem)
            continue
        pick = _custom_pick(row, day, config)
        if pick is not None:
            picks.append(pick)
    return result_build(
        trigger_type=TriggerType.CUSTOM, config=config, day=day, picks=picks, excluded=excluded
    )


def _custom_pick(row: StockDay, day: MarketDay, config: dict[str, Any]) -> Pick | None:
    matched = _custom_matches(row, day, config)
    if matched is None:
        return None
    metric = _metric(config["rank_by"], row, day)
    if metric is None:
        return None
    value, numbers, phrase = metric
    reasons = [reason for reason, _phrase in matched]
    reasons.append({"code": "ranked_by", "rank_by": config["rank_by"], **numbers})
    phrases = "; ".join(str(phrase) for _reason, phrase in matched)
    return Pick(
        stock_id=row.stock_id,
        order=(-value, -row.turnover, row.code),
        score=rounded(value),
        summary=_("%(code)s %(name)s matched every criterion (%(matched)s); %(phrase)s.")
        % {"code": row.code, "name": row.name, "matched": phrases, "phrase": phrase},
        reasons=reasons,
    )


def _within(value: Decimal, bounds: dict[str, Any]) -> bool:
    low, high = bounds.get("min"), bounds.get("max")
    return (low is None or value >= Decimal(str(low))) and (high is None or value <= Decimal(str(high)))


def _custom_matches(
    row: StockDay, day: MarketDay, config: dict[str, Any]
) -> list[tuple[dict[str, Any], str]] | None:
    """Each criterion in the config as (reason, phrase) when ``row`` meets all of them; None otherwise."""
    matched: list[tuple[dict[str, Any], str]] = []
    if _given(config, "industries"):
        matched.append(
            (
                {"code": "industry", "industry": row.industry},
                _("industry %(industry)s") % {"industry": row.industry},
            )
        )
    assert row.close is not None  # excluded before when the stock did not trade
    checks = (
        _price_check(row, config),
        _change_check(row, config),
        _volume_check(row, day, config),
        _cap_check(row, config),
    )
    for check in checks:
        if check is False:
            return None
        if check is not True:
            matched.append(check)
    return matched


Check = tuple[dict[str, Any], str] | bool


def _price_check(row: StockDay, config: dict[str, Any]) -> Check:
    if not _given(config, "price"):
        return True
    bounds = config["price"]
    assert row.close is not None
    if not _within(row.close, bounds):
        return False
    reason = {
        "code": "price_range",
        "close": rounded(row.close),
        "min": bounds.get("min"),
        "max": bounds.get("max"),
    }
    return reason, _("close %(close)s in range") % {"close": row.close}


def _change_check(row: StockDay, config: dict[str, Any]) -> Check:
    if not _given(config, "change_pct"):
        return True
    bounds = config["change_pct"]
    change = row.change_pct
    if change is None or not _within(change, bounds):
        return False
    reason = {
        "code": "change_range",
        "change_pct": rounded(change),
        "previous_close": rounded(row.previous_close) if row.previous_close is not None else None,
        "min": bounds.get("min"),
        "max": bounds.get("max"),
    }
    return reason, _("change %(change)s%% in range") % {"change": rounded(change)}


def _volume_check(row: StockDay, day: MarketDay, config: dict[str, Any]) -> Check:
    if not _given(config, "volume_ratio_min"):
        return True
    ratio = day.volume_ratio(row)
    if ratio is None or ratio < Decimal(str(config["volume_ratio_min"])):
        return False
    reason = {"code": "volume_ratio", **volume_numbers(row, ratio, day), "min": config["volume_ratio_min"]}
    return reason, _("volume %(ratio)s times average") % {"ratio": rounded(ratio)}


def _cap_check(row: StockDay, config: dict[str, Any]) -> Check:
    low, high = config.get("market_cap_min_twd"), config.get("market_cap_max_twd")
    if low is None and high is None:
        return True
    cap = row.market_cap
    if cap is None or not _within(cap, {"min": low, "max": high}):
        return False
    reason = {
        "code": "market_cap",
        "market_cap_twd": int(cap),
        "issued_shares": row.issued_shares,
        "close": rounded(row.close) if row.close is not None else None,
        "min": low,
        "max": high,
    }
    return reason, _("market cap %(cap)s TWD in range") % {"cap": f"{int(cap):,}"}
