"""The quote-based triggers on a small fixture market with every awkward case in it.

Trading days (all XTAI sessions): D0 = 2026-11-13 and D1..D5 = 2026-11-16..20. Triggers evaluate D5
against D4. D0..D3 are quiet days (volume 1,000,000, turnover 100,000,000, close as on D4).

| code | industry | D4 close / volume / turnover | D5 close / volume / turnover | the case                      |
|------|----------|------------------------------|------------------------------|-------------------------------|
| 1001 | 半導體業 | 50 / 1.0M / 100M             | 55 / 5.0M / 900M             | +10.00%, volume x5            |
| 1002 | 半導體業 | 100 / 1.0M / 100M            | 109.6 / 3.0M / 500M          | +9.60%, x3                    |
| 1003 | 半導體業 | 100 / 1.0M / 100M            | 109.4 / 1.5M / 300M          | +9.40% (under 9.5), x1.5      |
| 1004 | 半導體業 | 100 / 1.0M / 100M            | 103 / 1.0M / 120M            | +3.00%                        |
| 1005 | 半導體業 | 100 / 1.0M / 100M            | 100 / 0.8M / 80M             | unchanged                     |
| 1006 | 半導體業 | 100 / 1.0M / 100M            | 90.5 / 2.5M / 250M           | -9.50% (exactly the limit)    |
| 1007 | 半導體業 | 100 / 1.0M / 100M (D3: 98)   | 95 / 1.2M / 110M             | -5.00%; +2.04% on D4          |
| 1008 | 半導體業 | 100 / 1.0M / 100M            | no close, 0 volume           | suspended on D5               |
| 1009 | 半導體業 | 100 / 1.0M / 100M            | no row                       | missing the latest day        |
| 1010 | 半導體業 | no row                       | 110 / 4.0M / 440M            | missing the previous day      |
| 1011 | 半導體業 | no close, 0 volume           | 120 / 2.0M / 240M            | suspended the previous day    |
| 1012 | 半導體業 | 100 / 1.0M / 100M            | 110 / 9.0M / 990M            | inactive stock                |
| 1013 | 半導體業 | 100 / 1.0M / 100M            | 101, 0 volume                | a close but no trade          |
| 2001 | 航運業   | 20 / 1.0M / 20M              | 21 / 2.0M / 42M              | +5.00%, volume x2 exactly     |
| 2002 | 航運業   | 30 / 1.0M / 30M              | 29.7 / 1.1M / 32.67M         | -1.00%                        |

Issued shares: 1001 1,000,000,000; 1002 100,000,000; 2001 5,000,000,000; the rest unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from market.models import DailyQuote, Stock
from scheduling.trigger_types import TriggerType
from scheduling.triggers import (
    IntradaySourceMissing,
    TriggerDataMissing,
    TriggerResult,
    UnknownIndustryError,
    UnknownStockError,
    trigger_evaluate,
)
from scheduling.triggers.days import _stored_days_before, calendar_in_use
from tests.factories import StockFactory

pytestmark = pytest.mark.django_db


def new_stock(**fields: Any) -> Stock:
    return cast(Stock, StockFactory(**fields))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in the source language; the site default is zh-hant.
    with translation.override("en"):
        yield


D0 = dt.date(2026, 11, 13)
D1, D2, D3, D4, D5 = (dt.date(2026, 11, day) for day in range(16, 21))
QUIET_DAYS = (D0, D1, D2, D3)

Day = tuple[str | None, int, int] | None  # (close, volume, turnover); None: no row that day

MARKET: dict[str, tuple[str, Day, Day]] = {
    "1001": ("半導體業", ("50", 1_000_000, 100_000_000), ("55", 5_000_000, 900_000_000)),
    "1002": ("半導體業", ("100", 1_000_000, 100_000_000), ("109.6", 3_000_000, 500_000_000)),
    "1003": ("半導體業", ("100", 1_000_000, 100_000_000), ("109.4", 1_500_000, 300_000_000)),
    "1004": ("半導體業", ("100", 1_000_000, 100_000_000), ("103", 1_000_000, 120_000_000)),
    "1005": ("半導體業", ("100", 1_000_000, 100_000_000), ("100", 800_000, 80_000_000)),
    "1006": ("半導體業", ("100", 1_000_000, 100_000_000), ("90.5", 2_500_000, 250_000_000)),
    "1007": ("半導體業", ("100", 1_000_000, 100_000_000), ("95", 1_200_000, 110_000_000)),
    "1008": ("半導體業", ("100", 1_000_000, 100_000_000), (None, 0, 0)),
    "1009": ("半導體業", ("100", 1_000_000, 100_000_000), None),
    "1010": ("半導體業", None, ("110", 4_000_000, 440_000_000)),
    "1011": ("半導體業", (None, 0, 0), ("120", 2_000_000, 240_000_000)),
    "1012": ("半導體業", ("100", 1_000_000, 100_000_000), ("110", 9_000_000, 990_000_000)),
    "1013": ("半導體業", ("100", 1_000_000, 100_000_000), ("101", 0, 0)),
    "2001": ("航運業", ("20", 1_000_000, 20_000_000), ("21", 2_000_000, 42_000_000)),
    "2002": ("航運業", ("30", 1_000_000, 30_000_000), ("29.7", 1_100_000, 32_670_000)),
}
ISSUED = {"1001": 1_000_000_000, "1002": 100_000_000, "2001": 5_000_000_000}

# What every whole-market trigger that compares with D4 must leave out, and why.
NO_CHANGE = {
    "1008": "suspended",
    "1009": "missing_day",
    "1010": "missing_previous_day",
    "1011": "no_previous_close",
    "1013": "suspended",
}
NOT_TRADED = {"1008": "suspended", "1009": "missing_day", "1013": "suspended"}


def _quote(stock: Stock, day: dt.date, close: str | None, volume: int, turnover: int) -> DailyQuote:
    price = Decimal(close) if close is not None else None
    return DailyQuote(
        stock=stock,
        trade_date=day,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=volume,
        turnover=turnover,
    )


def _quiet_close(code: str, day: dt.date, previous: Day) -> str:
    if (code, day) == ("1007", D3):
        return "98"
    return previous[0] if previous is not None and previous[0] is not None else "100"


@pytest.fixture
def market() -> dict[str, Stock]:
    stocks: dict[str, Stock] = {}
    quotes: list[DailyQuote] = []
    for code, (industry, previous, today) in MARKET.items():
        stock = new_stock(
            code=code,
            name="台積電" if code == "1001" else f"測試{code}",
            industry=industry,
            issued_shares=ISSUED.get(code),
            is_active=code != "1012",
        )
        stocks[code] = stock
        quotes += [
            _quote(stock, day, _quiet_close(code, day, previous), 1_000_000, 100_000_000)
            for day in QUIET_DAYS
        ]
        if previous is not None:
            quotes.append(_quote(stock, D4, *previous))
        if today is not None:
            quotes.append(_quote(stock, D5, *today))
    DailyQuote.objects.bulk_create(quotes)
    return stocks


def codes(result: TriggerResult) -> list[str]:
    return [candidate.stock.code for candidate in result.candidates if candidate.stock is not None]


def excluded(result: TriggerResult) -> dict[str, str]:
    return {exclusion.stock_code: exclusion.code for exclusion in result.excluded}


def evaluate(trigger_type: str, config: dict[str, Any] | None = None, **kwargs: Any) -> TriggerResult:
    return trigger_evaluate(trigger_type=trigger_type, config=config or {}, **kwargs)


# --- limit up / limit down -------------------------------------------------------------------------


def test_limit_up_picks_closes_at_least_9_5_percent_above_the_previous_close(
    market: dict[str, Stock],
) -> None:
    result = evaluate("limit_up")
    assert codes(result) == ["1001", "1002"]
    assert result.as_of == D5
    assert result.previous_day == D4
    assert excluded(result) == NO_CHANGE
    top = result.candidates[0]
    assert top.rank == 1
    assert top.score == 10.0
    assert top.reasons == [
        {
            "code": "limit_up",
            "threshold_pct": 9.5,
            "trade_date": "2026-11-20",
            "close": 55.0,
            "previous_close": 50.0,
            "change_pct": 10.0,
            "turnover_twd": 900_000_000,
        }
    ]
    assert "1001" in top.summary
    assert "10.0%" in top.summary


def test_limit_up_threshold_is_configurable(market: dict[str, Stock]) -> None:
    assert codes(evaluate("limit_up", {"threshold_pct": 9.4})) == ["1001", "1002", "1003"]
    assert codes(evaluate("limit_up", {"threshold_pct": 9.7})) == ["1001"]


def test_limit_down_includes_a_fall_of_exactly_the_threshold(market: dict[str, Stock]) -> None:
    result = evaluate("limit_down")
    assert codes(result) == ["1006"]
    assert result.candidates[0].reasons[0]["change_pct"] == -9.5
    assert result.candidates[0].score == 9.5
    assert excluded(result) == NO_CHANGE


def test_a_stock_without_a_previous_day_never_qualifies_even_when_it_jumped(market: dict[str, Stock]) -> None:
    # 1010 closed at 110 after 100 two days before, and 1011 at 120 after a suspension: not limit-ups.
    result = evaluate("limit_up", {"threshold_pct": 1})
    assert "1010" not in codes(result)
    assert "1011" not in codes(result)
    assert excluded(result)["1010"] == "missing_previous_day"
    assert excluded(result)["1011"] == "no_previous_close"


def test_inactive_stocks_are_never_candidates(market: dict[str, Stock]) -> None:
    for trigger_type in ("limit_up", "top_gainers", "turnover_leaders", "volume_surge"):
        result = evaluate(trigger_type, {"lookback_days": 5} if trigger_type == "volume_surge" else {})
        assert "1012" not in codes(result)
        assert "1012" not in excluded(result)


# --- top gainers / losers --------------------------------------------------------------------------


def test_top_gainers_ranks_rises_and_cuts_at_the_limit(market: dict[str, Stock]) -> None:
    result = evaluate("top_gainers", {"limit": 3})
    assert codes(result) == ["1001", "1002", "1003"]
    assert result.matched == 5
    assert [candidate.rank for candidate in result.candidates] == [1, 2, 3]
    assert codes(evaluate("top_gainers")) == ["1001", "1002", "1003", "2001", "1004"]


def test_top_losers_ranks_falls_and_leaves_out_unchanged_stocks(market: dict[str, Stock]) -> None:
    result = evaluate("top_losers")
    assert codes(result) == ["1006", "1007", "2002"]
    assert [candidate.score for candidate in result.candidates] == [9.5, 5.0, 1.0]
    assert excluded(result) == NO_CHANGE


def test_top_gainers_can_look_at_an_earlier_day(market: dict[str, Stock]) -> None:
    result = evaluate("top_gainers", as_of=D4)
    assert result.previous_day == D3
    assert codes(result) == ["1007"]
    assert result.candidates[0].reasons[0]["change_pct"] == 2.04
    assert excluded(result) == {"1010": "missing_day", "1011": "suspended"}


def test_ties_on_the_change_go_to_the_larger_turnover_then_the_code(market: dict[str, Stock]) -> None:
    twin = new_stock(code="1099", industry="半導體業")
    DailyQuote.objects.bulk_create(
        [_quote(twin, D4, "100", 1_000_000, 100_000_000), _quote(twin, D5, "110", 1_000_000, 990_000_000)]
    )
    assert codes(evaluate("top_gainers", {"limit": 2})) == ["1099", "1001"]


# --- turnover ----------------------------------------------------------------------------------------


def test_turnover_leaders_ranks_every_traded_stock_by_turnover(market: dict[str, Stock]) -> None:
    result = evaluate("turnover_leaders", {"limit": 5})
    assert codes(result) == ["1001", "1002", "1010", "1003", "1006"]
    assert result.matched == 11
    # Turnover needs no previous day: 1010 and 1011 are fine here.
    assert excluded(result) == NOT_TRADED
    assert result.candidates[0].reasons[0]["turnover_twd"] == 900_000_000


def test_turnover_change_compares_with_the_previous_trading_day(market: dict[str, Stock]) -> None:
    result = evaluate("turnover_change")
    assert codes(result) == ["1001", "1002", "1003", "1006", "2001"]
    assert result.candidates[0].reasons[0] == {
        "code": "turnover_change",
        "trade_date": "2026-11-20",
        "previous_day": "2026-11-19",
        "turnover_twd": 900_000_000,
        "previous_turnover_twd": 100_000_000,
        "turnover_change_pct": 800.0,
        "min_change_pct": 50,
    }
    assert excluded(result) == NO_CHANGE


def test_turnover_change_can_require_a_minimum_turnover(market: dict[str, Stock]) -> None:
    result = evaluate("turnover_change", {"min_change_pct": 100, "min_turnover_twd": 100_000_000})
    assert codes(result) == ["1001", "1002", "1003", "1006"]


# --- volume surge ------------------------------------------------------------------------------------


def test_volume_surge_compares_with_the_average_of_the_days_before(market: dict[str, Stock]) -> None:
    result = evaluate("volume_surge", {"ratio": 2, "lookback_days": 5})
    assert codes(result) == ["1001", "1002", "1006", "2001"]
    assert result.candidates[0].reasons[0] == {
        "code": "volume_surge",
        "trade_date": "2026-11-20",
        "volume": 5_000_000,
        "average_volume": 1_000_000.0,
        "volume_ratio": 5.0,
        "lookback_days": 5,
        "ratio_threshold": 2,
        "close": 55.0,
    }
    assert excluded(result) == {
        "1008": "suspended",
        "1009": "missing_day",
        "1010": "insufficient_history",
        "1011": "insufficient_history",
        "1013": "suspended",
    }


def test_volume_surge_names_how_many_prior_days_a_stock_traded(market: dict[str, Stock]) -> None:
    result = evaluate("volume_surge", {"lookback_days": 5})
    (gap,) = [exclusion for exclusion in result.excluded if exclusion.stock_code == "1011"]
    assert gap.details == {"traded_days": 4, "lookback_days": 5, "since": "2026-11-13"}
    assert "4" in gap.message


def test_volume_surge_refuses_when_the_market_has_too_few_days_stored(market: dict[str, Stock]) -> None:
    with pytest.raises(TriggerDataMissing) as error:
        evaluate("volume_surge", {"lookback_days": 20})
    assert "2026-" in error.value.message


# --- sector ------------------------------------------------------------------------------------------


def test_sector_ranks_an_industry_by_change(market: dict[str, Stock]) -> None:
    result = evaluate("sector", {"industries": ["航運業"]})
    assert codes(result) == ["2001", "2002"]
    assert result.candidates[0].reasons[0]["industry"] == "航運業"
    assert result.candidates[0].reasons[0]["change_pct"] == 5.0
    assert excluded(result) == {}


def test_sector_ranks_by_turnover_or_volume_ratio(market: dict[str, Stock]) -> None:
    assert codes(evaluate("sector", {"industries": ["半導體業"], "rank_by": "turnover", "limit": 3})) == [
        "1001",
        "1002",
        "1010",
    ]
    by_ratio = evaluate("sector", {"industries": ["半導體業"], "rank_by": "volume_ratio", "lookback_days": 5})
    assert codes(by_ratio) == ["1001", "1002", "1006", "1003", "1007", "1004", "1005"]
    assert excluded(by_ratio)["1010"] == "insufficient_history"


def test_sector_refuses_an_industry_not_in_the_stock_master(market: dict[str, Stock]) -> None:
    with pytest.raises(UnknownIndustryError) as error:
        evaluate("sector", {"industries": ["航運業", "太空業"]})
    assert "太空業" in error.value.message
    assert "航運業" in error.value.message  # listed among the known ones
    assert error.value.fields == {"trigger_config": ["industries: 太空業"]}


# --- custom ------------------------------------------------------------------------------------------


def test_custom_combines_industry_price_and_change(market: dict[str, Stock]) -> None:
    result = evaluate(
        "custom",
        {
            "industries": ["半導體業"],
            "price": {"min": 90, "max": 110},
            "change_pct": {"min": -10, "max": 9.7},
            "rank_by": "change_pct",
        },
    )
    assert codes(result) == ["1002", "1003", "1004", "1005", "1007", "1006"]
    reasons = {reason["code"]: reason for reason in result.candidates[0].reasons}
    assert reasons["price_range"] == {"code": "price_range", "close": 109.6, "min": 90, "max": 110}
    assert reasons["change_range"]["change_pct"] == 9.6
    assert reasons["industry"] == {"code": "industry", "industry": "半導體業"}


def test_custom_market_cap_is_close_times_issued_shares(market: dict[str, Stock]) -> None:
    result = evaluate("custom", {"market_cap_min_twd": 10_000_000_000, "rank_by": "market_cap"})
    assert codes(result) == ["2001", "1001", "1002"]
    cap = next(reason for reason in result.candidates[1].reasons if reason["code"] == "market_cap")
    assert cap["market_cap_twd"] == 55_000_000_000
    assert excluded(result)["1004"] == "no_issued_shares"


def test_custom_volume_ratio_and_change_rank_by_turnover_by_default(market: dict[str, Stock]) -> None:
    result = evaluate("custom", {"volume_ratio_min": 2, "change_pct": {"min": 0}, "lookback_days": 5})
    assert codes(result) == ["1001", "1002", "2001"]
    assert result.candidates[0].reasons[-1] == {
        "code": "ranked_by",
        "rank_by": "turnover",
        "turnover_twd": 900_000_000,
        "volume": 5_000_000,
    }


def test_custom_without_a_change_filter_does_not_need_the_previous_day(market: dict[str, Stock]) -> None:
    result = evaluate("custom", {"price": {"min": 105, "max": 115}})
    assert codes(result) == ["1002", "1010", "1003"]


# --- individual --------------------------------------------------------------------------------------


def test_individual_keeps_the_given_order_and_explains_what_it_leaves_out(market: dict[str, Stock]) -> None:
    result = evaluate("individual", {"stock_codes": ["2002", "1008", "1012", "1010", "1001"]})
    assert codes(result) == ["2002", "1010", "1001"]
    assert excluded(result) == {"1008": "suspended", "1012": "inactive"}
    # No previous day for 1010: a candidate still, without a change.
    assert result.candidates[1].reasons == [
        {"code": "individual", "trade_date": "2026-11-20", "close": 110.0}
    ]
    assert result.candidates[2].reasons[0]["change_pct"] == 10.0


def test_individual_refuses_an_unknown_code(market: dict[str, Stock]) -> None:
    with pytest.raises(UnknownStockError) as error:
        evaluate("individual", {"stock_codes": ["1001", "9999"]})
    assert "9999" in error.value.message
    assert error.value.code == "unknown_stock"


# --- days and missing data -------------------------------------------------------------------------


def test_as_of_defaults_to_the_latest_stored_day(market: dict[str, Stock]) -> None:
    assert evaluate("top_gainers").as_of == D5


def test_an_as_of_without_stored_quotes_is_refused_naming_the_day(market: dict[str, Stock]) -> None:
    with pytest.raises(TriggerDataMissing) as error:
        evaluate("top_gainers", as_of=dt.date(2026, 11, 21))
    assert "2026-11-21" in error.value.message
    assert "2026-11-20" in error.value.message


def test_triggers_refuse_to_run_on_an_empty_database() -> None:
    with pytest.raises(TriggerDataMissing) as error:
        evaluate("limit_up")
    assert error.value.code == "trigger_data_missing"


@pytest.mark.skipif(not calendar_in_use(), reason="needs market.calendar to know the previous trading day")
def test_a_previous_trading_day_missing_from_storage_is_named_not_skipped(market: dict[str, Stock]) -> None:
    DailyQuote.objects.filter(trade_date=D4).delete()
    with pytest.raises(TriggerDataMissing) as error:
        evaluate("limit_up")
    assert "2026-11-19" in error.value.message


@pytest.mark.skipif(calendar_in_use(), reason="market.calendar is present: the calendar decides the day")
def test_without_a_calendar_the_previous_stored_day_is_the_previous_trading_day(
    market: dict[str, Stock],
) -> None:
    DailyQuote.objects.filter(trade_date=D4).delete()
    assert evaluate("limit_up").previous_day == D3


def test_the_stored_day_walk_finds_earlier_trade_dates_newest_first(market: dict[str, Stock]) -> None:
    # The fallback for when market.calendar is absent: one recursive query over the stored dates.
    assert _stored_days_before(D5, 3) == [D4, D3, D2]
    assert _stored_days_before(D1, 5) == [D0]


@pytest.mark.postgres
def test_a_nan_close_counts_as_no_close(market: dict[str, Stock]) -> None:
    # PostgreSQL's numeric stores NaN (a bulk import can put one there) and NaN > 0 passes the check.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE market_dailyquote SET close = 'NaN' WHERE stock_id = %s AND trade_date = %s",
            [market["1001"].pk, D5],
        )
        cursor.execute(
            "UPDATE market_dailyquote SET close = 'NaN' WHERE stock_id = %s AND trade_date = %s",
            [market["1002"].pk, D4],
        )
    result = evaluate("limit_up")
    assert codes(result) == []
    assert excluded(result)["1001"] == "suspended"
    assert excluded(result)["1002"] == "no_previous_close"


def test_intraday_is_refused_naming_the_missing_source(market: dict[str, Stock]) -> None:
    with pytest.raises(IntradaySourceMissing) as error:
        evaluate("intraday")
    assert "intraday quote source" in error.value.message


# --- reads only, in a few queries --------------------------------------------------------------------

MARKET_CONFIGS: dict[str, dict[str, Any]] = {
    "individual": {"stock_codes": ["1001", "2001"]},
    "sector": {"industries": ["半導體業"], "rank_by": "volume_ratio", "lookback_days": 5},
    "limit_up": {},
    "limit_down": {},
    "volume_surge": {"lookback_days": 5},
    "turnover_leaders": {},
    "turnover_change": {},
    "top_gainers": {},
    "top_losers": {},
    "custom": {
        "industries": ["半導體業"],
        "volume_ratio_min": 1,
        "change_pct": {"min": 0},
        "lookback_days": 5,
    },
}


def test_every_trigger_type_is_covered_here_or_in_the_news_tests() -> None:
    assert set(MARKET_CONFIGS) | {"news", "macro", "intraday"} == set(TriggerType.values)


@pytest.mark.parametrize("trigger_type", sorted(MARKET_CONFIGS))
def test_evaluating_writes_nothing_and_takes_a_fixed_number_of_queries(
    trigger_type: str, market: dict[str, Stock]
) -> None:
    with CaptureQueriesContext(connection) as small:
        evaluate(trigger_type, MARKET_CONFIGS[trigger_type])
    more = [new_stock(code=f"30{n:02d}", industry="半導體業") for n in range(30)]
    DailyQuote.objects.bulk_create(
        [_quote(stock, day, "10", 1_000_000, 1_000_000) for stock in more for day in (*QUIET_DAYS, D4, D5)]
    )
    with CaptureQueriesContext(connection) as large:
        evaluate(trigger_type, MARKET_CONFIGS[trigger_type])
    statements = [query["sql"].lstrip().split()[0].upper() for query in small.captured_queries]
    assert set(statements) <= {"SELECT", "WITH"}
    assert len(large.captured_queries) == len(small.captured_queries) <= 8
