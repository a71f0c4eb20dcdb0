"""'Next free slot' with each KOL's posting times, caps and the trading calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kols.models import validate_posting_times
from posting.models import Post
from posting.publishing.slots import next_free_slots
from tests.factories import KOLFactory, PostFactory, TradingDayOverrideFactory

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
# Tuesday 24 November 2026, 07:00 in Taipei: a trading day.
AFTER = dt.datetime(2026, 11, 24, 7, 0, tzinfo=TAIPEI)


@pytest.fixture(autouse=True)
def _slots(settings: Any) -> None:
    settings.POSTING_SLOT_TIMES = ["08:30", "19:30"]
    settings.POSTING_SLOT_LEAD_MINUTES = 0
    settings.POSTING_MIN_GAP_MINUTES = 30
    settings.POSTING_TRADING_DAYS_ONLY = True


def _post(**fields: Any) -> Post:
    return cast(Post, PostFactory(status=Post.Status.APPROVED, approved_at=timezone.now(), **fields))


def _local(slot: dt.datetime | None) -> str:
    assert slot is not None
    return timezone.localtime(slot, TAIPEI).strftime("%Y-%m-%d %H:%M")


def test_a_kol_with_its_own_posting_times_gets_those_and_others_the_site_default() -> None:
    own = _post(kol=KOLFactory(posting_times=["21:15", "09:05"]))
    default = _post(kol=KOLFactory())
    slots = next_free_slots(posts=[own, default], after=AFTER)
    assert _local(slots[own.pk]) == "2026-11-24 09:05"
    assert _local(slots[default.pk]) == "2026-11-24 08:30"


def test_the_daily_cap_moves_the_next_post_to_the_next_trading_day() -> None:
    kol = KOLFactory(posting_times=["09:00", "10:00", "11:00"], max_posts_per_hour=1, max_posts_per_day=2)
    posts = [_post(kol=kol) for _ in range(3)]
    TradingDayOverrideFactory(date=dt.date(2026, 11, 25), is_open=False, reason="颱風停止交易")
    slots = next_free_slots(posts=posts, after=AFTER)
    assert sorted(_local(slot) for slot in slots.values()) == [
        "2026-11-24 09:00",
        "2026-11-24 10:00",
        "2026-11-26 09:00",
    ]


def test_the_publishing_ceiling_applies_when_lower_than_the_kols_cap(settings: Any) -> None:
    settings.PUBLISH_ACCOUNT_MAX_PER_DAY = 1
    kol = KOLFactory(posting_times=["09:00", "10:00"], max_posts_per_day=5)
    posts = [_post(kol=kol) for _ in range(2)]
    slots = next_free_slots(posts=posts, after=AFTER)
    assert sorted(_local(slot) for slot in slots.values()) == ["2026-11-24 09:00", "2026-11-25 09:00"]


@pytest.mark.parametrize("value", ["08:30", ["8:3"], ["24:00"], ["08:30", "08:30"], [830]])
def test_posting_times_must_be_a_list_of_distinct_hh_mm(value: Any) -> None:
    with pytest.raises(ValidationError):
        validate_posting_times(value)


def test_valid_posting_times_pass() -> None:
    validate_posting_times(["08:30", "21:05"])
    validate_posting_times([])
