"""When may an account send next: a human pace per account, and a platform-wide rate.

Per account (``account_wait``), decided in the database under the account's row lock, so every worker
sees every other worker's sends and the state survives a Redis restart:

* at least ``PUBLISH_MIN_GAP_SECONDS`` between two sends, plus a random ``0..PUBLISH_JITTER_SECONDS``;
* at most the hourly and daily cap (clock hour and calendar day in Asia/Taipei; the lower of the KOL's
  own cap and PUBLISH_ACCOUNT_MAX_PER_HOUR / _PER_DAY);
* nothing before ``rate_limited_until`` (the platform's last 429 Retry-After).

Waiting publications *reserve* a slot (``Publication.slot_at``), so ten posts of one account wait for
ten different times instead of all waking up together. Reservations only plan: the send itself is
checked against the account's actual sends (``claimed_at``), which is what makes the rules hold.

Platform-wide (``platform_wait``): a token bucket of ``PUBLISH_PLATFORM_RATE_PER_MINUTE`` with a burst of
``PUBLISH_PLATFORM_BURST``, kept as GCRA's single "theoretical arrival time": in Redis (an atomic Lua
script, on Redis's clock) when REDIS_URL is set, else in the PlatformRate table under a row lock.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.ratelimit import gcra_script
from kols.models import KOL, PlatformAccount
from posting.models import Backend, PlatformRate, Publication
from posting.models import PublicationStatus as S

logger = logging.getLogger(__name__)

# A reservation this much in the past was not used (a lost message, a long outage): plan it again.
STALE_RESERVATION = dt.timedelta(minutes=2)
# Early wake-ups (a delayed task fired a moment before its time) still count as on time.
EARLY = dt.timedelta(milliseconds=500)
# Sends that count against the caps: those that may have reached the platform.
_COUNTED = (S.SENDING, S.PUBLISHED, S.UNKNOWN, S.DELETED)
_MAX_STEPS = 500


@dataclass(frozen=True)
class Rules:
    gap: dt.timedelta
    jitter_seconds: float
    per_hour: int
    per_day: int


def rules_for(kol: KOL) -> Rules:
    return Rules(
        gap=dt.timedelta(seconds=settings.PUBLISH_MIN_GAP_SECONDS),
        jitter_seconds=settings.PUBLISH_JITTER_SECONDS,
        per_hour=min(kol.max_posts_per_hour, settings.PUBLISH_ACCOUNT_MAX_PER_HOUR),
        per_day=min(kol.max_posts_per_day, settings.PUBLISH_ACCOUNT_MAX_PER_DAY),
    )


# --- The rules as pure functions --------------------------------------------------------------------


def _hour_start(at: dt.datetime) -> dt.datetime:
    return timezone.localtime(at).replace(minute=0, second=0, microsecond=0)


def _day_start(at: dt.datetime) -> dt.datetime:
    return timezone.localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)


def _next_day(at: dt.datetime) -> dt.datetime:
    # Asia/Taipei has no daylight saving: the next midnight is always 24 hours on.
    return _day_start(at) + dt.timedelta(days=1)


def earliest(
    *,
    start: dt.datetime,
    taken: Iterable[dt.datetime],
    rules: Rules,
    extra_gap: dt.timedelta = dt.timedelta(),
) -> dt.datetime:
    """The first moment at or after ``start`` that keeps the gap to every time in ``taken`` and stays
    within the hourly and daily caps counting ``taken``."""
    times = sorted(taken)
    gap = rules.gap + extra_gap
    at = start
    for _step in range(_MAX_STEPS):
        near = [other for other in times if abs(at - other) < gap]
        if near:
            at = max(near) + gap
            continue
        hour = _hour_start(at)
        if sum(1 for other in times if hour <= other < hour + dt.timedelta(hours=1)) >= rules.per_hour:
            at = hour + dt.timedelta(hours=1)
            continue
        day = _day_start(at)
        if sum(1 for other in times if day <= other < _next_day(at)) >= rules.per_day:
            at = _next_day(at)
            continue
        return at
    raise RuntimeError("No slot found within the search bound; the pace rules contradict each other.")


def plan_slot(
    *,
    now: dt.datetime,
    taken: Iterable[dt.datetime],
    rules: Rules,
    blocked_until: dt.datetime | None,
    jitter: float,
) -> dt.datetime:
    """A new reservation: the earliest time that fits, pushed back by this send's random jitter."""
    start = max(now, blocked_until or now) + dt.timedelta(seconds=jitter)
    return earliest(start=start, taken=taken, rules=rules, extra_gap=dt.timedelta(seconds=jitter))


# --- Per account, in the database -------------------------------------------------------------------


def _subject_filter(publication: Publication) -> Q:
    if publication.account_id is not None:
        return Q(account_id=publication.account_id)
    return Q(account__isnull=True, post__kol_id=publication.post.kol_id)


def lock_subject(publication: Publication) -> PlatformAccount | KOL:
    """Lock the row every send of this account (or, without an account, of this KOL) serialises on."""
    if publication.account_id is not None:
        return PlatformAccount.objects.select_for_update().get(pk=publication.account_id)
    return KOL.objects.select_for_update().get(pk=publication.post.kol_id)


def _window_start(now: dt.datetime) -> dt.datetime:
    return min(_day_start(now), now - dt.timedelta(hours=1)) - dt.timedelta(days=1)


def _sent_times(publication: Publication, now: dt.datetime) -> list[dt.datetime]:
    rows = (
        Publication.objects.filter(_subject_filter(publication), claimed_at__gte=_window_start(now))
        .filter(status__in=_COUNTED)
        .exclude(pk=publication.pk)
        .values_list("claimed_at", flat=True)
    )
    return [at for at in rows if at is not None]


def _reserved_times(publication: Publication, now: dt.datetime) -> list[dt.datetime]:
    rows = (
        Publication.objects.filter(_subject_filter(publication), slot_at__gte=now - STALE_RESERVATION)
        .filter(status__in=(S.PENDING, S.FAILED_RETRYABLE))
        .exclude(pk=publication.pk)
        .values_list("slot_at", flat=True)
    )
    return [at for at in rows if at is not None]


def account_wait(
    *,
    publication: Publication,
    subject: PlatformAccount | KOL,
    now: dt.datetime,
    rng: random.Random | None = None,
) -> dt.datetime | None:
    """None: this publication may send now. Otherwise the time to come back (its reservation is saved).

    Call inside a transaction holding ``lock_subject``.
    """
    rules = rules_for(publication.post.kol)
    blocked = subject.rate_limited_until if isinstance(subject, PlatformAccount) else None
    sent = _sent_times(publication, now)
    slot = publication.slot_at
    if slot is None or slot < now - STALE_RESERVATION:
        jitter = (rng or random).uniform(0, rules.jitter_seconds) if rules.jitter_seconds else 0.0
        slot = plan_slot(
            now=now,
            taken=sent + _reserved_times(publication, now),
            rules=rules,
            blocked_until=blocked,
            jitter=jitter,
        )
    if slot > now + EARLY:
        return _reserve(publication, slot)
    # The hard check, against what was actually sent: a reservation only planned the order.
    allowed = earliest(start=max(now, blocked or now), taken=sent, rules=rules)
    if allowed > now:
        return _reserve(publication, allowed)
    return None


def _reserve(publication: Publication, slot: dt.datetime) -> dt.datetime:
    Publication.objects.filter(pk=publication.pk).update(slot_at=slot)
    publication.slot_at = slot
    return slot


# --- Platform-wide ----------------------------------------------------------------------------------


def _interval_and_tolerance() -> tuple[float, float]:
    interval = 60.0 / settings.PUBLISH_PLATFORM_RATE_PER_MINUTE
    return interval, interval * (settings.PUBLISH_PLATFORM_BURST - 1)


def platform_key(platform: str) -> str:
    return f"kolstudio:publish:rate:{platform}"


def platform_wait(*, backend: str, now: dt.datetime, use_redis: bool | None = None) -> float:
    """Take one send from the platform's bucket: 0.0 when taken, else the seconds to wait for one.

    A dry run touches no platform and is not limited here.
    """
    if backend == Backend.DRY_RUN:
        return 0.0
    use_redis = bool(settings.REDIS_URL) if use_redis is None else use_redis
    if use_redis:
        return _redis_wait(backend)
    return _database_wait(backend, now)


def _redis_wait(backend: str) -> float:
    import redis

    interval, tolerance = _interval_and_tolerance()
    script = gcra_script(settings.REDIS_URL)
    try:
        answer = script(keys=[platform_key(backend)], args=[repr(interval), repr(tolerance)])
    except redis.RedisError:
        # Without the shared bucket nobody can vouch for the platform rate: wait rather than risk a burst.
        logger.warning("The platform rate bucket in Redis is unreachable; waiting", exc_info=True)
        return max(interval, 5.0)
    return float(answer)


def _database_wait(backend: str, now: dt.datetime) -> float:
    interval, tolerance = _interval_and_tolerance()
    with transaction.atomic():
        PlatformRate.objects.get_or_create(platform=backend, defaults={"theoretical_arrival": now})
        row = PlatformRate.objects.select_for_update().get(platform=backend)
        tat = max(row.theoretical_arrival, now)
        ahead = (tat - now).total_seconds()
        if ahead > tolerance:
            return ahead - tolerance
        row.theoretical_arrival = tat + dt.timedelta(seconds=interval)
        row.save(update_fields=["theoretical_arrival"])
    return 0.0
