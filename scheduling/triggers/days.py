"""Which trading day a trigger looks at, and which days came before it.

The exchange calendar (``market.calendar``, when that module exists) says which day was the previous
trading day; the stored quotes are then checked to actually have it. Without the calendar, the previous
days are the earlier dates present in the quotes. Either way a missing day is an error that names the
day: an empty candidate list caused by a gap in our data would look like a quiet market.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any, cast

from django.db import connection
from django.db.models import Max
from django.utils.translation import gettext as _

from market.models import DailyQuote
from scheduling.triggers.errors import TriggerDataMissing

_MAX_WIDENINGS = 10
TradingDays = Callable[[dt.date, dt.date], list[dt.date]]


def _calendar_trading_days() -> TradingDays | None:
    """``market.calendar.trading_days(start, end)``, or None while that module does not exist."""
    try:
        module: Any = importlib.import_module("market.calendar")
    except ModuleNotFoundError as exc:
        # Only the calendar's own absence means "no calendar"; a broken import inside it must surface.
        if exc.name != "market.calendar":
            raise
        return None
    function = getattr(module, "trading_days", None)
    return cast(TradingDays, function) if callable(function) else None


def calendar_in_use() -> bool:
    return _calendar_trading_days() is not None


def resolve_as_of(as_of: dt.date | None) -> dt.date:
    """The day to evaluate: ``as_of`` if quotes are stored for it, else the latest stored trade date."""
    latest = DailyQuote.objects.aggregate(latest=Max("trade_date"))["latest"]
    if latest is None:
        raise TriggerDataMissing(
            _("No daily quotes are stored yet: load market data before running a trigger.")
        )
    if as_of is None:
        return latest
    if not DailyQuote.objects.filter(trade_date=as_of).exists():
        raise TriggerDataMissing(
            _("No daily quotes are stored for %(day)s (the latest stored trading day is %(latest)s).")
            % {"day": as_of.isoformat(), "latest": latest.isoformat()}
        )
    return as_of


def _stored(days: list[dt.date]) -> set[dt.date]:
    # order_by() drops the model's default ordering, which DISTINCT would otherwise add to its columns.
    stored = DailyQuote.objects.filter(trade_date__in=days).order_by().values_list("trade_date", flat=True)
    return set(stored.distinct())


def _require_stored(days: list[dt.date]) -> None:
    missing = sorted(set(days) - _stored(days))
    if missing:
        raise TriggerDataMissing(
            _(
                "No daily quotes are stored for the trading day(s) %(days)s that the exchange calendar "
                "puts before the evaluated day; load them first."
            )
            % {"days": ", ".join(day.isoformat() for day in missing)}
        )


def _stored_days_before(as_of: dt.date, count: int) -> list[dt.date]:
    """The ``count`` latest stored trade dates before ``as_of``, newest first.

    A recursive walk of one index lookup per day: a DISTINCT over the whole quotes table would read
    every row of the history to find twenty dates.
    """
    table = connection.ops.quote_name(DailyQuote._meta.db_table)
    sql = f"""
        WITH RECURSIVE days(day, n) AS (
            SELECT (SELECT MAX(trade_date) FROM {table} WHERE trade_date < %s), 1
            UNION ALL
            SELECT (SELECT MAX(trade_date) FROM {table} WHERE trade_date < days.day), n + 1
            FROM days WHERE n < %s AND days.day IS NOT NULL
        )
        SELECT day FROM days WHERE day IS NOT NULL ORDER BY n
    """  # noqa: S608 -- the only interpolation is our own table name, quoted by the backend.
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of, count])
        return [_as_date(row[0]) for row in cursor.fetchall()]


def _as_date(value: object) -> dt.date:
    # SQLite hands back the text it stores; PostgreSQL a date.
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def trading_days_before(as_of: dt.date, count: int) -> list[dt.date]:
    """The ``count`` trading days before ``as_of``, newest first, each with quotes stored.

    Raises TriggerDataMissing naming the missing day(s).
    """
    calendar_days = _calendar_trading_days()
    if calendar_days is None:
        days = _stored_days_before(as_of, count)
        if len(days) < count:
            raise TriggerDataMissing(
                _("Only %(found)s stored trading day(s) precede %(day)s; this trigger needs %(count)s.")
                % {"found": len(days), "day": as_of.isoformat(), "count": count}
            )
        return days
    days = _calendar_days_before(calendar_days, as_of, count)
    _require_stored(days)
    return days


def _calendar_days_before(calendar_days: TradingDays, as_of: dt.date, count: int) -> list[dt.date]:
    # Two calendar days per trading day, plus the longest closure, covers any stretch; widen if not.
    span = dt.timedelta(days=count * 2 + 31)
    start = as_of - span
    for _widening in range(_MAX_WIDENINGS):
        days = calendar_days(start, as_of - dt.timedelta(days=1))
        if len(days) >= count:
            return days[::-1][:count]
        start -= span
    raise TriggerDataMissing(
        _("The exchange calendar lists fewer than %(count)s trading days before %(day)s.")
        % {"count": count, "day": as_of.isoformat()}
    )


def previous_trading_day(as_of: dt.date) -> dt.date:
    return trading_days_before(as_of, 1)[0]
