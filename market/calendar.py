"""Which days the Taiwan exchanges trade: the XTAI calendar, with TradingDayOverride taking precedence.

The override table holds what the calendar package cannot know in time: typhoon closures announced the
evening before and make-up trading days. Every function reads the overrides afresh, so an edit in the
admin applies at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import exchange_calendars
from django.utils import timezone

from market.models import TradingDayOverride

TAIPEI = ZoneInfo("Asia/Taipei")
CLOSE = dt.time(13, 30)
_SEARCH_DAYS = 31  # Taiwan never closes longer than the Lunar New Year week; this leaves room.


@functools.lru_cache(maxsize=1)
def _xtai_sessions(today: dt.date) -> tuple[frozenset[dt.date], dt.date, dt.date]:
    """XTAI's sessions with the first and last day it covers, built once per calendar day.

    exchange_calendars builds XTAI about a year ahead of the day it is created (and 20 years back);
    keying the cache on today keeps a long-running worker's range moving with the date.
    """
    with warnings.catch_warnings():
        # exchange_calendars still uses pandas APIs that pandas deprecates; nothing for us to act on.
        warnings.simplefilter("ignore", DeprecationWarning)
        calendar = exchange_calendars.get_calendar("XTAI")
    sessions = frozenset(session.date() for session in calendar.sessions)
    return sessions, calendar.first_session.date(), calendar.last_session.date()


def _calendar_open(day: dt.date, xtai: tuple[frozenset[dt.date], dt.date, dt.date]) -> bool:
    """XTAI's answer; outside its range (about a year ahead) we fall back to Monday to Friday."""
    sessions, first, last = xtai
    if first <= day <= last:
        return day in sessions
    return day.weekday() < 5


def _overrides(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    rows = TradingDayOverride.objects.filter(date__gte=start, date__lte=end).values_list("date", "is_open")
    return dict(rows)


def _open_days(days: Iterable[dt.date], overrides: dict[dt.date, bool]) -> list[dt.date]:
    xtai = _xtai_sessions(timezone.localdate(timezone=TAIPEI))
    return [day for day in days if overrides.get(day, _calendar_open(day, xtai))]


def _span(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]


def is_trading_day(day: dt.date) -> bool:
    """True when the exchange trades on ``day``.

    An override decides when there is one; otherwise XTAI, and past XTAI's range (about a year ahead,
    see ``_calendar_open``) every weekday counts as trading until an override says otherwise.
    """
    return bool(_open_days([day], _overrides(day, day)))


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every trading day from ``start`` to ``end``, both included, oldest first."""
    if end < start:
        return []
    return _open_days(_span(start, end), _overrides(start, end))


def next_trading_day(day: dt.date) -> dt.date:
    """The first trading day after ``day``."""
    start = day + dt.timedelta(days=1)
    while True:
        end = start + dt.timedelta(days=_SEARCH_DAYS)
        found = trading_days(start, end)
        if found:
            return found[0]
        start = end + dt.timedelta(days=1)


def previous_trading_day(day: dt.date) -> dt.date:
    """The last trading day before ``day``."""
    end = day - dt.timedelta(days=1)
    while True:
        start = end - dt.timedelta(days=_SEARCH_DAYS)
        found = trading_days(start, end)
        if found:
            return found[-1]
        end = start - dt.timedelta(days=1)


def latest_closed_trading_day(now: dt.datetime | None = None) -> dt.date:
    """The most recent trading day whose session has ended (13:30 Asia/Taipei) at ``now``.

    Before 13:30 on a trading day, and on any day the market is closed, that is the previous one.
    """
    local = timezone.localtime(now or timezone.now(), TAIPEI)
    today = local.date()
    if local.time() >= CLOSE and is_trading_day(today):
        return today
    return previous_trading_day(today)
