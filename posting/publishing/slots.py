"""Next free posting slots: each KOL's posting times (else the configured ones; Asia/Taipei), on trading
days, within each KOL's caps."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from posting.models import Post

# Posts that occupy a slot on the platform side.
# An unpublished post was on the platform at its time: it still counts against the account's caps.
_OCCUPYING = (
    Post.Status.SCHEDULED,
    Post.Status.PUBLISHING,
    Post.Status.PUBLISHED,
    Post.Status.UNPUBLISHED,
)
_HORIZON_DAYS = 14


def _is_open_day(day: dt.date) -> bool:
    if not settings.POSTING_TRADING_DAYS_ONLY:
        return True
    from market.calendar import is_trading_day

    return bool(is_trading_day(day))


def candidate_times(
    *, after: dt.datetime, days: int = _HORIZON_DAYS, slot_times: list[str] | None = None
) -> list[dt.datetime]:
    """Every slot (``slot_times``, else POSTING_SLOT_TIMES) after ``after`` within ``days`` days, in order."""
    tz = timezone.get_default_timezone()
    start = timezone.localtime(after, tz).date()
    times: list[dt.datetime] = []
    for offset in range(days + 1):
        day = start + dt.timedelta(days=offset)
        if not _is_open_day(day):
            continue
        for hhmm in sorted(slot_times or settings.POSTING_SLOT_TIMES):
            hour, minute = (int(part) for part in hhmm.split(":"))
            moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)
            if moment > after:
                times.append(moment)
    return times


class _Calendar:
    """What each KOL already has on the calendar, plus what this call assigns."""

    def __init__(self, kol_ids: Iterable[int], since: dt.datetime) -> None:
        self.taken: dict[int, list[dt.datetime]] = defaultdict(list)
        rows = Post.objects.filter(kol_id__in=set(kol_ids), status__in=_OCCUPYING).filter(
            scheduled_at__gte=since - dt.timedelta(days=1)
        )
        for kol_id, at in rows.values_list("kol_id", "scheduled_at"):
            if at is not None:
                self.taken[kol_id].append(at)

    def fits(self, *, kol_id: int, at: dt.datetime, per_hour: int, per_day: int) -> bool:
        taken = self.taken[kol_id]
        gap = dt.timedelta(minutes=settings.POSTING_MIN_GAP_MINUTES)
        if any(abs(at - other) < gap for other in taken):
            return False
        hour_start = at.replace(minute=0, second=0, microsecond=0)
        local_day = timezone.localtime(at).date()
        in_hour = sum(1 for other in taken if hour_start <= other < hour_start + dt.timedelta(hours=1))
        in_day = sum(1 for other in taken if timezone.localtime(other).date() == local_day)
        return in_hour < per_hour and in_day < per_day

    def take(self, kol_id: int, at: dt.datetime) -> None:
        self.taken[kol_id].append(at)


def next_free_slots(
    *, posts: list[Post], after: dt.datetime | None = None
) -> dict[object, dt.datetime | None]:
    """Assign each post the earliest free slot among its KOL's posting times (empty: POSTING_SLOT_TIMES),
    on trading days, within its caps (the KOL's, or the publishing pace's when lower); None where none is
    free in two weeks."""
    earliest = (after or timezone.now()) + dt.timedelta(minutes=settings.POSTING_SLOT_LEAD_MINUTES)
    times_for: dict[tuple[str, ...], list[dt.datetime]] = {}
    calendar = _Calendar((post.kol_id for post in posts), earliest)
    assigned: dict[object, dt.datetime | None] = {}
    for post in sorted(posts, key=lambda p: p.created_at):
        kol = post.kol
        own_times = tuple(kol.posting_times or settings.POSTING_SLOT_TIMES)
        if own_times not in times_for:
            times_for[own_times] = candidate_times(after=earliest, slot_times=list(own_times))
        per_hour = min(kol.max_posts_per_hour, settings.PUBLISH_ACCOUNT_MAX_PER_HOUR)
        per_day = min(kol.max_posts_per_day, settings.PUBLISH_ACCOUNT_MAX_PER_DAY)
        slot = next(
            (
                at
                for at in times_for[own_times]
                if calendar.fits(kol_id=kol.pk, at=at, per_hour=per_hour, per_day=per_day)
            ),
            None,
        )
        if slot is not None:
            calendar.take(kol.pk, slot)
        assigned[post.pk] = slot
    return assigned
