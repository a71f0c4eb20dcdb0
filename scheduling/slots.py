"""When a schedule runs: its post times (HH:MM, Asia/Taipei) on the days its rule allows.

A slot is one post time on one day, as an aware datetime. Trading days come from market.calendar (XTAI
plus the override table), read afresh on every call so a typhoon closure entered in the admin applies to
the next computation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from kols.models import KOL, Playbook
from market.calendar import trading_days
from scheduling.models import Schedule

TAIPEI = ZoneInfo("Asia/Taipei")
DaysRule = Schedule.DaysRule
# Days looked at per calendar query while searching forward; a year bounds the search.
_WINDOW_DAYS = 14
_HORIZON_DAYS = 400


class SlotError(ServiceError):
    code = "no_slot"


def post_times_parse(post_times: Sequence[str]) -> list[dt.time]:
    """The schedule's "HH:MM" strings as times, earliest first."""
    return sorted(dt.time(int(text[:2]), int(text[3:5])) for text in post_times)


def schedule_post_times(schedule: Schedule, *, pool: Sequence[KOL] | None = None) -> list[str]:
    """The times a schedule runs at (HH:MM): its own post times, or, when it opts in to best hours, the
    best hours of its pool's active playbooks (falling back to its own times when none has any).

    ``pool`` is the pool about to be saved (a person's edit); otherwise the stored pool is read.
    """
    if not schedule.use_best_hours:
        return list(schedule.post_times)
    playbooks = Playbook.objects.filter(status=Playbook.Status.ACTIVE)
    if pool is not None:
        playbooks = playbooks.filter(kol__in=[kol.pk for kol in pool])
    elif schedule.pk:
        playbooks = playbooks.filter(kol__schedules=schedule)
    else:
        return list(schedule.post_times)
    hours = {
        hour
        for best in playbooks.values_list("best_hours", flat=True)
        for hour in (best if isinstance(best, list) else [])
        if isinstance(hour, int) and not isinstance(hour, bool) and 0 <= hour <= 23
    }
    return [f"{hour:02d}:00" for hour in sorted(hours)] or list(schedule.post_times)


def run_days(days_rule: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The days from ``start`` to ``end`` (both included) on which a schedule with ``days_rule`` runs."""
    if end < start:
        return []
    if days_rule == DaysRule.TRADING_DAYS:
        return trading_days(start, end)
    span = [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]
    if days_rule == DaysRule.WEEKDAYS:
        return [day for day in span if day.weekday() < 5]
    return span


def is_run_day(days_rule: str, day: dt.date) -> bool:
    return bool(run_days(days_rule, day, day))


def _slots_on(days: Sequence[dt.date], times: Sequence[dt.time]) -> list[dt.datetime]:
    return [dt.datetime.combine(day, time, tzinfo=TAIPEI) for day in days for time in times]


def slots_between(
    *, post_times: Sequence[str], days_rule: str, start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """Every slot with ``start <= slot <= end``, oldest first."""
    times = post_times_parse(post_times)
    first, last = timezone.localtime(start, TAIPEI).date(), timezone.localtime(end, TAIPEI).date()
    slots = _slots_on(run_days(days_rule, first, last), times)
    return [slot for slot in slots if start <= slot <= end]


def slot_next(*, post_times: Sequence[str], days_rule: str, after: dt.datetime) -> dt.datetime:
    """The first slot strictly after ``after``."""
    times = post_times_parse(post_times)
    if not times:
        raise SlotError(_("The schedule has no post times."), fields={"post_times": [_("required")]})
    day = timezone.localtime(after, TAIPEI).date()
    horizon = day + dt.timedelta(days=_HORIZON_DAYS)
    while day <= horizon:
        window_end = day + dt.timedelta(days=_WINDOW_DAYS - 1)
        for slot in _slots_on(run_days(days_rule, day, window_end), times):
            if slot > after:
                return slot
        day = window_end + dt.timedelta(days=1)
    raise SlotError(
        _("No day within %(days)s days fits the days rule %(rule)s.")
        % {"days": _HORIZON_DAYS, "rule": days_rule},
        fields={"days_rule": [days_rule]},
    )


def slot_key(slot: dt.datetime) -> str:
    """The slot as stored in ScheduleRun.slot, e.g. "2026-11-20T14:30+08:00"."""
    return timezone.localtime(slot, TAIPEI).isoformat(timespec="minutes")


def manual_slot_key(now: dt.datetime) -> str:
    """A person's "run now": unique to the microsecond, so two clicks are two runs, never one row twice."""
    return "manual-" + timezone.localtime(now, TAIPEI).isoformat(timespec="microseconds")
