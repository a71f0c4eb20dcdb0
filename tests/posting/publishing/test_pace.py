"""The pace: per-account gap, caps, jitter and 429 blocks (database), the platform-wide rate (DB and Redis)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from kols.models import PlatformAccount
from posting.lifecycle.transitions import Actor
from posting.models import Publication
from posting.models import PublicationStatus as S
from posting.publishing import pace
from posting.publishing.pace import Rules, earliest, plan_slot
from posting.review.services import post_approve, post_create_draft, post_run_checks
from tests.factories import KOLFactory, PlatformAccountFactory

TAIPEI = ZoneInfo("Asia/Taipei")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=TAIPEI)
RULES = Rules(gap=dt.timedelta(minutes=10), jitter_seconds=0, per_hour=3, per_day=5)


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


# --- The rules as pure functions --------------------------------------------------------------------


def test_earliest_keeps_the_gap_to_every_earlier_and_later_send() -> None:
    assert earliest(start=_at(0), taken=[], rules=RULES) == _at(0)
    assert earliest(start=_at(5), taken=[_at(0)], rules=RULES) == _at(10)
    # A reservation at 15 leaves no room at 10..24: the next fit is 25.
    assert earliest(start=_at(5), taken=[_at(0), _at(15)], rules=RULES) == _at(25)


def test_earliest_moves_to_the_next_clock_hour_when_the_hourly_cap_is_reached() -> None:
    taken = [_at(0), _at(10), _at(20)]
    assert earliest(start=_at(30), taken=taken, rules=RULES) == _at(60)


def test_earliest_moves_to_the_next_taipei_day_when_the_daily_cap_is_reached() -> None:
    taken = [_at(0), _at(10), _at(60), _at(120), _at(180)]
    assert earliest(start=_at(200), taken=taken, rules=RULES) == dt.datetime(
        2026, 11, 25, 0, 0, tzinfo=TAIPEI
    )


def test_a_planned_slot_carries_its_jitter_into_the_gap() -> None:
    slot = plan_slot(now=_at(5), taken=[_at(0)], rules=RULES, blocked_until=None, jitter=30)
    assert slot == _at(10) + dt.timedelta(seconds=30)


def test_a_planned_slot_waits_for_the_platforms_retry_after() -> None:
    assert plan_slot(now=_at(0), taken=[], rules=RULES, blocked_until=_at(7), jitter=0) == _at(7)


# --- Per account, in the database -------------------------------------------------------------------


def _publications(count: int, **kol: Any) -> tuple[PlatformAccount, list[Publication]]:
    owner = KOLFactory(max_posts_per_hour=kol.get("per_hour", 10), max_posts_per_day=kol.get("per_day", 10))
    account = cast(PlatformAccount, PlatformAccountFactory(kol=owner))
    publications = []
    for number in range(count):
        post = post_create_draft(kol=owner, title=f"第{number}篇", body="收盤104元。")
        post_approve(post=post_run_checks(post=post), by=Actor(label="test"))
        publications.append(Publication.objects.select_related("post__kol").get(post=post))
    return account, publications


def _send(publication: Publication, at: dt.datetime) -> None:
    Publication.objects.filter(pk=publication.pk).update(status=S.SENDING, claimed_at=at)


def _wait(publication: Publication, now: dt.datetime) -> dt.datetime | None:
    publication.refresh_from_db()
    subject = pace.lock_subject(publication)
    return pace.account_wait(publication=publication, subject=subject, now=now, rng=random.Random(1))


@pytest.fixture
def paced(settings: Any) -> None:
    settings.PUBLISH_MIN_GAP_SECONDS = 600
    settings.PUBLISH_JITTER_SECONDS = 0


@pytest.mark.django_db
@pytest.mark.usefixtures("paced")
def test_waiting_publications_of_one_account_reserve_successive_slots() -> None:
    _account, (first, second, third) = _publications(3)
    assert _wait(first, T0) is None
    _send(first, T0)
    assert _wait(second, T0) == _at(10)
    assert _wait(third, T0) == _at(20)
    # Woken on time, the reservation holds: it may send.
    assert _wait(second, _at(10)) is None


@pytest.mark.django_db
@pytest.mark.usefixtures("paced")
def test_the_send_itself_is_checked_against_actual_sends_not_reservations() -> None:
    _account, (first, second) = _publications(2)
    assert _wait(second, T0) is None  # reserved "now"
    _send(first, T0 + dt.timedelta(seconds=1))  # but another worker sent first, a second later
    assert _wait(second, T0 + dt.timedelta(seconds=2)) == _at(10) + dt.timedelta(seconds=1)


@pytest.mark.django_db
@pytest.mark.usefixtures("paced")
def test_the_hourly_cap_counts_the_kols_own_cap_when_it_is_lower() -> None:
    _account, publications = _publications(3, per_hour=1)
    assert _wait(publications[0], T0) is None
    _send(publications[0], T0)
    assert _wait(publications[1], T0) == _at(60)


@pytest.mark.django_db
@pytest.mark.usefixtures("paced")
def test_a_429_blocks_the_whole_account_until_retry_after() -> None:
    account, (first,) = _publications(1)
    PlatformAccount.objects.filter(pk=account.pk).update(rate_limited_until=_at(3))
    assert _wait(first, T0) == _at(3)


@pytest.mark.django_db
def test_jitter_spreads_sends_beyond_the_gap(settings: Any) -> None:
    settings.PUBLISH_MIN_GAP_SECONDS = 600
    settings.PUBLISH_JITTER_SECONDS = 90
    _account, (first, second) = _publications(2)
    slot = _wait(first, T0)
    assert slot is not None and T0 < slot <= T0 + dt.timedelta(seconds=90)
    _send(first, slot)
    later = _wait(second, slot)
    assert later is not None and slot + dt.timedelta(minutes=10) < later <= slot + dt.timedelta(seconds=690)


# --- Platform-wide ----------------------------------------------------------------------------------


@pytest.fixture
def platform_rate(settings: Any) -> None:
    settings.PUBLISH_PLATFORM_RATE_PER_MINUTE = 60  # one a second
    settings.PUBLISH_PLATFORM_BURST = 3


@pytest.mark.django_db
@pytest.mark.usefixtures("platform_rate")
def test_the_platform_rate_in_the_database_allows_the_burst_then_one_per_interval() -> None:
    now = timezone.now()
    waits = [pace.platform_wait(backend="cmoney", now=now, use_redis=False) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(1.0)
    assert pace.platform_wait(backend="cmoney", now=now + dt.timedelta(seconds=1), use_redis=False) == 0.0
    assert pace.platform_wait(backend="dry_run", now=now, use_redis=False) == 0.0


@pytest.mark.redis
@pytest.mark.usefixtures("platform_rate")
def test_the_platform_rate_in_redis_allows_the_burst_then_one_per_interval() -> None:
    import redis

    client = redis.Redis.from_url(str(settings.REDIS_URL))
    client.delete(pace.platform_key("webhook"))
    now = timezone.now()
    waits = [pace.platform_wait(backend="webhook", now=now, use_redis=True) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.9 < waits[3] <= 1.0
    client.delete(pace.platform_key("webhook"))
