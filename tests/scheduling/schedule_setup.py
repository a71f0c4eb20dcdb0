"""Shared set-up for the schedule tests: a market day of quotes, KOLs and active schedules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from kols.models import KOL
from market.models import Stock
from scheduling.models import Schedule
from scheduling.services import schedule_save
from tests.factories import DailyQuoteFactory, KOLFactory, ScheduleFactory, StockFactory

TAIPEI = ZoneInfo("Asia/Taipei")
# Friday 20 November 2026 is a trading day; the quotes below are its close.
MARKET_DAY = dt.date(2026, 11, 20)
PREVIOUS_DAY = dt.date(2026, 11, 19)
CODES = ("2330", "2317", "2454")


def taipei(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=TAIPEI)


def market_day(day: dt.date = MARKET_DAY, codes: tuple[str, ...] = CODES) -> list[Stock]:
    """Two stored trading days for ``codes``: flat at 100 on ``PREVIOUS_DAY``, then up 5, 4, 3... on ``day``."""
    stocks = []
    names = {"2330": "台積電", "2317": "鴻海", "2454": "聯發科"}
    for position, code in enumerate(codes):
        stock = cast(Stock, StockFactory(code=code, name=names.get(code, f"測試{code}")))
        change = Decimal(5 - position)
        flat = {"open": Decimal(100), "high": Decimal(101), "low": Decimal(99), "close": Decimal(100)}
        DailyQuoteFactory(stock=stock, trade_date=PREVIOUS_DAY, change=Decimal(0), **flat)
        DailyQuoteFactory(
            stock=stock,
            trade_date=day,
            close=Decimal(100) + change,
            change=change,
            open=Decimal(100),
            high=Decimal(106),
            low=Decimal(99),
        )
        stocks.append(stock)
    return stocks


def kols(count: int, **fields: Any) -> list[KOL]:
    defaults = {"max_posts_per_hour": 10, "max_posts_per_day": 20}
    return [cast(KOL, KOLFactory(**{**defaults, **fields})) for _ in range(count)]


def active_schedule(now: dt.datetime, pool: list[KOL] | None = None, **fields: Any) -> Schedule:
    """A schedule activated at ``now`` through the service (so its next run is computed)."""
    defaults: dict[str, Any] = {
        "trigger_type": "individual",
        "trigger_config": {"stock_codes": list(CODES)},
        "post_times": ["14:30"],
        "days_rule": Schedule.DaysRule.TRADING_DAYS,
        "posts_per_run": 2,
        "max_posts_per_day": 10,
    }
    schedule = ScheduleFactory.build(**{**defaults, **fields}, status=Schedule.Status.ACTIVE)
    return schedule_save(schedule=schedule, pool=pool if pool is not None else kols(3), now=now)


def broker_queue_purge() -> None:
    """Drop the batch tasks a transactional test queued on the default queue; no worker of a test reads it.

    (The tests run the batch in-process; the queued message would otherwise wait for the next worker
    that consumes the default queue on this broker.)
    """
    from django.conf import settings

    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
