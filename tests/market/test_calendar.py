from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from market import calendar
from tests.factories import TradingDayOverrideFactory

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")


def test_a_weekend_is_not_a_trading_day() -> None:
    assert calendar.is_trading_day(dt.date(2026, 11, 21)) is False  # Saturday
    assert calendar.is_trading_day(dt.date(2026, 11, 22)) is False  # Sunday
    assert calendar.is_trading_day(dt.date(2026, 11, 20)) is True  # Friday


def test_national_day_is_not_a_trading_day() -> None:
    # 2026-10-10 falls on a Saturday; the exchange closes on Friday the 9th instead.
    assert calendar.is_trading_day(dt.date(2026, 10, 10)) is False
    assert calendar.is_trading_day(dt.date(2026, 10, 9)) is False
    assert calendar.next_trading_day(dt.date(2026, 10, 8)) == dt.date(2026, 10, 12)
    assert calendar.previous_trading_day(dt.date(2026, 10, 12)) == dt.date(2026, 10, 8)


def test_lunar_new_year_closes_the_market_for_the_whole_week() -> None:
    assert calendar.trading_days(dt.date(2026, 2, 11), dt.date(2026, 2, 24)) == [
        dt.date(2026, 2, 11),
        dt.date(2026, 2, 23),
        dt.date(2026, 2, 24),
    ]


def test_a_typhoon_closure_override_closes_a_weekday() -> None:
    typhoon_day = dt.date(2026, 9, 14)  # Monday
    assert calendar.is_trading_day(typhoon_day) is True
    TradingDayOverrideFactory(date=typhoon_day, is_open=False, reason="颱風停止交易")
    assert calendar.is_trading_day(typhoon_day) is False
    assert calendar.next_trading_day(dt.date(2026, 9, 11)) == dt.date(2026, 9, 15)
    assert calendar.previous_trading_day(dt.date(2026, 9, 15)) == dt.date(2026, 9, 11)


def test_a_make_up_trading_day_override_opens_a_saturday() -> None:
    saturday = dt.date(2026, 11, 28)
    TradingDayOverrideFactory(date=saturday, is_open=True, reason="補行交易日")
    assert calendar.is_trading_day(saturday) is True
    assert calendar.next_trading_day(dt.date(2026, 11, 27)) == saturday
    assert calendar.trading_days(dt.date(2026, 11, 27), dt.date(2026, 11, 30)) == [
        dt.date(2026, 11, 27),
        saturday,
        dt.date(2026, 11, 30),
    ]


def test_an_override_can_also_reopen_a_calendar_holiday() -> None:
    TradingDayOverrideFactory(date=dt.date(2026, 10, 9), is_open=True, reason="交易所公告照常交易")
    assert calendar.is_trading_day(dt.date(2026, 10, 9)) is True


def test_beyond_the_calendars_range_weekdays_count_minus_overrides() -> None:
    far = dt.date(2031, 3, 3)  # a Monday, years past XTAI's range
    assert calendar.is_trading_day(far) is True
    assert calendar.is_trading_day(far + dt.timedelta(days=5)) is False  # Saturday
    TradingDayOverrideFactory(date=far, is_open=False, reason="颱風停止交易")
    assert calendar.is_trading_day(far) is False


def test_trading_days_of_an_empty_range_is_empty() -> None:
    assert calendar.trading_days(dt.date(2026, 11, 20), dt.date(2026, 11, 19)) == []


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # A trading day before the close: yesterday's session is the latest closed one.
        (dt.datetime(2026, 11, 24, 13, 29, tzinfo=TAIPEI), dt.date(2026, 11, 23)),
        (dt.datetime(2026, 11, 24, 13, 30, tzinfo=TAIPEI), dt.date(2026, 11, 24)),
        # Monday morning: Friday's.
        (dt.datetime(2026, 11, 23, 9, 0, tzinfo=TAIPEI), dt.date(2026, 11, 20)),
        # Sunday evening: Friday's.
        (dt.datetime(2026, 11, 22, 20, 0, tzinfo=TAIPEI), dt.date(2026, 11, 20)),
        # 06:00 UTC is 14:00 in Taipei: the day has closed there.
        (dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC), dt.date(2026, 11, 24)),
        # After the close on the observed National Day holiday: Thursday's.
        (dt.datetime(2026, 10, 9, 15, 0, tzinfo=TAIPEI), dt.date(2026, 10, 8)),
    ],
)
def test_latest_closed_trading_day_counts_a_day_closed_after_13_30_taipei(
    now: dt.datetime, expected: dt.date
) -> None:
    assert calendar.latest_closed_trading_day(now) == expected


def test_latest_closed_trading_day_defaults_to_now() -> None:
    with time_machine.travel(dt.datetime(2026, 9, 14, 15, 0, tzinfo=TAIPEI), tick=False):
        TradingDayOverrideFactory(date=dt.date(2026, 9, 14), is_open=False, reason="颱風停止交易")
        assert calendar.latest_closed_trading_day() == dt.date(2026, 9, 11)
