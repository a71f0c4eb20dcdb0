"""KOL allocation: each strategy's order, and the hard limits every strategy obeys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from kols.models import KOL, Persona
from market.models import Stock
from posting.models import BatchItem, GenerationBatch, Post
from scheduling.allocation import AllocationError, AllocationResult, kols_allocate
from scheduling.triggers import Candidate
from tests.factories import GenerationBatchFactory, KOLFactory, PostFactory, StockFactory

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = dt.datetime(2026, 11, 20, 14, 30, tzinfo=TAIPEI)


def new_stock(**fields: Any) -> Stock:
    return cast(Stock, StockFactory(**fields))


def new_kol(**fields: Any) -> KOL:
    return cast(KOL, KOLFactory(**fields))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def at(hour: int, minute: int = 0, *, days_ago: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 20 - days_ago, hour, minute, tzinfo=TAIPEI)


def post(kol: KOL, when: dt.datetime, stock: Stock | None = None, **fields: Any) -> Post:
    made = cast(Post, PostFactory(kol=kol, stock=stock, **fields))
    Post.objects.filter(pk=made.pk).update(created_at=when)
    return made


def candidate(stock: Stock | None = None, *, trigger_type: str = "top_gainers", topic: str = "") -> Candidate:
    return Candidate(
        trigger_type=trigger_type, rank=1, score=1.0, summary="", reasons=[], stock=stock, topic=topic
    )


def stocks(count: int) -> list[Stock]:
    return [new_stock(code=f"{4000 + n}") for n in range(count)]


def kols(*names: str, **fields: Any) -> list[KOL]:
    return [new_kol(nickname=name, **fields) for name in names]


def allocate(candidates: list[Candidate], pool: list[KOL], strategy: str, **kwargs: Any) -> AllocationResult:
    return kols_allocate(candidates=candidates, pool=pool, strategy=strategy, now=NOW, **kwargs)


def names(result: AllocationResult) -> list[str]:
    return [assignment.kol.nickname for assignment in result.assignments]


def skip_codes(result: AllocationResult) -> list[str]:
    return [skip.code for skip in result.skipped]


# --- strategies ----------------------------------------------------------------------------------------


def test_round_robin_takes_turns_in_pool_order() -> None:
    pool = kols("A", "B", "C")
    result = allocate([candidate(stock) for stock in stocks(4)], pool, "round_robin")
    assert names(result) == ["A", "B", "C", "A"]
    assert result.skipped == []


def test_round_robin_rotation_moves_the_starting_kol_between_runs() -> None:
    pool = kols("A", "B", "C")
    assert names(allocate([candidate(stock) for stock in stocks(4)], pool, "round_robin", rotation=1)) == [
        "B",
        "C",
        "A",
        "B",
    ]


def test_round_robin_passes_over_a_kol_at_its_cap_and_keeps_rotating() -> None:
    a, b, c = kols("A", "B", "C")
    KOL.objects.filter(pk=b.pk).update(max_posts_per_hour=1)
    b.refresh_from_db()
    post(b, at(14, 5))
    result = allocate([candidate(stock) for stock in stocks(4)], [a, b, c], "round_robin")
    assert names(result) == ["A", "C", "A", "C"]


def test_fixed_uses_the_pool_as_a_priority_list() -> None:
    pool = kols("A", "B")
    result = allocate([candidate(stock) for stock in stocks(3)], pool, "fixed")
    # A's hourly cap is 2: the third goes to B.
    assert names(result) == ["A", "A", "B"]


def test_random_is_reproducible_with_its_seed() -> None:
    pool = kols("A", "B", "C", "D", "E")
    candidates = [candidate(stock) for stock in stocks(5)]
    first = names(allocate(candidates, pool, "random", seed=42))
    assert names(allocate(candidates, pool, "random", seed=42)) == first
    assert set(first) <= {"A", "B", "C", "D", "E"}
    orders = {tuple(names(allocate(candidates, pool, "random", seed=seed))) for seed in range(10)}
    assert len(orders) > 1


def test_random_without_a_seed_is_refused() -> None:
    with pytest.raises(AllocationError) as error:
        allocate([], kols("A"), "random")
    assert "seed" in error.value.fields


def test_expertise_matches_industry_keywords_and_persona() -> None:
    shipping = new_kol(nickname="航運通", persona=Persona.FUNDAMENTAL, expertise_industries=["航運業"])
    fan = new_kol(nickname="台積迷", persona=Persona.NEWS, expertise_keywords=["台積"])
    chartist = new_kol(nickname="線圖王", persona=Persona.TECHNICAL)
    evergreen = new_stock(code="2603", name="長榮", industry="航運業")
    tsmc = new_stock(code="2330", name="台積電", industry="半導體業")
    mediatek = new_stock(code="2454", name="聯發科", industry="半導體業")
    result = allocate(
        [candidate(stock, trigger_type="limit_up") for stock in (evergreen, tsmc, mediatek)],
        [chartist, fan, shipping],
        "expertise",
    )
    assert names(result) == ["航運通", "台積迷", "線圖王"]
    assert result.assignments[0].reasons == [
        {"code": "strategy", "strategy": "expertise", "expertise_points": 3, "matched": ["industry"]}
    ]
    assert result.assignments[2].reasons[0]["matched"] == ["persona"]


def test_expertise_spreads_equal_matches_across_the_pool() -> None:
    pool = kols("A", "B", persona=Persona.TECHNICAL)
    result = allocate([candidate(stock, trigger_type="limit_up") for stock in stocks(2)], pool, "expertise")
    assert names(result) == ["A", "B"]


def test_least_recent_prefers_the_kol_who_posted_longest_ago() -> None:
    a, b, c, d = kols("A", "B", "C", "D")
    post(a, at(11, 30))
    post(c, at(10, 0, days_ago=1))
    post(d, at(14, 20))
    # B never posted.
    result = allocate([candidate(stock) for stock in stocks(3)], [a, b, c, d], "least_recent")
    assert names(result) == ["B", "C", "A"]
    assert result.assignments[0].reasons == [
        {"code": "strategy", "strategy": "least_recent", "last_posted_at": None}
    ]


def test_least_recent_ignores_rejected_drafts() -> None:
    a, b = kols("A", "B")
    post(a, at(9, 0))
    post(b, at(14, 0, days_ago=3))
    post(b, at(14, 25), status=Post.Status.REJECTED)
    assert names(allocate([candidate(stocks(1)[0])], [a, b], "least_recent")) == ["B"]


# --- caps ----------------------------------------------------------------------------------------------


def test_hourly_cap_counts_this_clock_hour_in_taipei() -> None:
    (kol,) = kols("A")
    post(kol, at(13, 50))  # the previous hour: does not count
    post(kol, at(14, 10))
    result = allocate([candidate(stock) for stock in stocks(2)], [kol], "fixed")
    assert names(result) == ["A"]
    assert skip_codes(result) == ["hourly_cap"]
    assert result.skipped[0].blocked == [
        {"kol_id": kol.pk, "kol": "A", "code": "hourly_cap", "count": 2, "cap": 2}
    ]


def test_rejected_and_expired_posts_do_not_count_against_the_caps() -> None:
    (kol,) = kols("A")
    post(kol, at(14, 1), status=Post.Status.REJECTED)
    post(kol, at(14, 2), status=Post.Status.EXPIRED)
    assert names(allocate([candidate(stock) for stock in stocks(2)], [kol], "fixed")) == ["A", "A"]


def test_daily_cap_counts_the_taipei_day_not_the_utc_one() -> None:
    (kol,) = kols("A", max_posts_per_hour=3, max_posts_per_day=3)
    post(kol, at(23, 30, days_ago=1))  # yesterday in Taipei (the same UTC day as the next one)
    post(kol, at(1, 0))  # today in Taipei, yesterday in UTC
    post(kol, at(9, 0))
    result = allocate([candidate(stock) for stock in stocks(2)], [kol], "fixed")
    assert names(result) == ["A"]
    assert skip_codes(result) == ["daily_cap"]
    assert result.skipped[0].blocked[0]["count"] == 3


# --- same stock, coordination ----------------------------------------------------------------------------


def test_a_kol_never_writes_about_the_same_stock_twice_on_one_day() -> None:
    a, b = kols("A", "B")
    (stock,) = stocks(1)
    post(a, at(9, 0), stock)
    result = allocate([candidate(stock)], [a, b], "fixed")
    assert names(result) == ["B"]
    only_a = allocate([candidate(stock)], [a], "fixed")
    assert skip_codes(only_a) == ["same_stock_today"]


def being_written(kol: KOL, when: dt.datetime, stock: Stock, status: str = BatchItem.Status.PENDING) -> None:
    """A draft a batch started at ``when`` is still writing (or has settled as ``status``)."""
    batch = cast(GenerationBatch, GenerationBatchFactory(post_type="analysis", requested_count=1))
    GenerationBatch.objects.filter(pk=batch.pk).update(created_at=when)
    claimed = {"claim_token": "c1", "started_at": when} if status == BatchItem.Status.RUNNING else {}
    BatchItem.objects.create(batch=batch, position=1, kol=kol, stock=stock, status=status, **claimed)


@pytest.mark.parametrize("status", [BatchItem.Status.PENDING, BatchItem.Status.RUNNING])
def test_a_draft_still_being_written_counts_like_a_post(status: str) -> None:
    a, b = kols("A", "B")
    (capped,) = kols("C", max_posts_per_hour=1, max_posts_per_day=1)
    first, second = stocks(2)
    being_written(a, at(14, 0), first, status)
    being_written(capped, at(14, 0), first, status)
    assert skip_codes(allocate([candidate(first)], [a], "fixed")) == ["same_stock_today"]
    assert skip_codes(allocate([candidate(second)], [capped], "fixed")) == ["hourly_cap"]
    # A and C are already writing about the first stock: a third KOL would make it a coordinated push.
    crowded = allocate([candidate(first)], [b], "fixed")
    assert [reason["code"] for reason in crowded.skipped[0].blocked] == ["stock_window_full"]
    assert names(allocate([candidate(second)], [a, b], "fixed")) == ["A"]


def test_settled_batch_items_and_yesterdays_do_not_count_twice() -> None:
    (a,) = kols("A")
    (stock,) = stocks(1)
    being_written(a, at(9, 0), stock, BatchItem.Status.FAILED)
    being_written(a, at(14, 0, days_ago=1), stock)
    assert names(allocate([candidate(stock)], [a], "fixed")) == ["A"]


def test_yesterdays_post_on_the_stock_does_not_block_today() -> None:
    (a,) = kols("A")
    (stock,) = stocks(1)
    post(a, at(23, 0, days_ago=1), stock)
    assert names(allocate([candidate(stock)], [a], "fixed")) == ["A"]


def test_the_same_topic_counts_like_the_same_stock() -> None:
    (a,) = kols("A")
    post(a, at(9, 0), topic_title="升息")
    result = allocate([candidate(topic="升息", trigger_type="macro"), candidate(topic="匯率")], [a], "fixed")
    assert [assignment.candidate.topic for assignment in result.assignments] == ["匯率"]
    assert skip_codes(result) == ["same_stock_today"]


def test_no_more_than_two_kols_on_one_stock_within_the_window() -> None:
    a, b, outside_1, outside_2 = kols("A", "B", "X", "Y")
    (stock,) = stocks(1)
    post(outside_1, at(13, 0), stock)
    post(outside_2, at(14, 0), stock)
    result = allocate([candidate(stock)], [a, b], "round_robin")
    assert skip_codes(result) == ["stock_window_full"]
    assert result.skipped[0].blocked[0] == {
        "kol_id": a.pk,
        "kol": "A",
        "code": "stock_window_full",
        "kols": 2,
        "max": 2,
        "window_minutes": 120,
    }


def test_posts_older_than_the_window_do_not_count_towards_coordination() -> None:
    a, outside_1, outside_2 = kols("A", "X", "Y")
    (stock,) = stocks(1)
    post(outside_1, at(12, 0), stock)  # 150 minutes ago
    post(outside_2, at(14, 0), stock)
    assert names(allocate([candidate(stock)], [a], "fixed")) == ["A"]


def test_the_window_counts_this_runs_own_assignments(settings: Any) -> None:
    a, b, c = kols("A", "B", "C")
    (stock,) = stocks(1)
    result = allocate([candidate(stock)] * 3, [a, b, c], "fixed")
    assert names(result) == ["A", "B"]
    # A and B have had it today; C would be the third KOL within the window.
    assert skip_codes(result) == ["no_kol_available"]
    assert [entry["code"] for entry in result.skipped[0].blocked] == [
        "same_stock_today",
        "same_stock_today",
        "stock_window_full",
    ]
    settings.ALLOCATION_MAX_PERSONAS_PER_STOCK = 1
    settings.ALLOCATION_STOCK_WINDOW_MINUTES = 30
    tighter = allocate([candidate(stock)] * 2, [a, b], "fixed")
    assert names(tighter) == ["A"]
    assert tighter.skipped[0].blocked[-1]["window_minutes"] == 30


# --- pool and run ----------------------------------------------------------------------------------------


def test_paused_kols_are_never_allocated() -> None:
    paused = new_kol(nickname="P", status=KOL.Status.PAUSED)
    (active,) = kols("A")
    result = allocate([candidate(stock) for stock in stocks(2)], [paused, active], "fixed")
    assert names(result) == ["A", "A"]
    assert result.paused == [paused]
    nobody = allocate([candidate(stocks(1)[0])], [paused], "round_robin")
    assert skip_codes(nobody) == ["no_active_kol"]


def test_max_assignments_stops_the_run_and_says_so() -> None:
    pool = kols("A", "B")
    result = allocate([candidate(stock) for stock in stocks(3)], pool, "round_robin", max_assignments=2)
    assert names(result) == ["A", "B"]
    assert skip_codes(result) == ["run_full"]


def test_an_unknown_strategy_is_refused_naming_it() -> None:
    with pytest.raises(AllocationError) as error:
        allocate([], kols("A"), "loudest")
    assert "loudest" in error.value.message


def test_allocation_reads_only_in_a_fixed_number_of_queries() -> None:
    pool = kols("A", "B", "C")
    post(pool[0], at(9, 0))
    two, four = [candidate(stock) for stock in stocks(2)], [candidate(stock) for stock in stocks(6)[2:]]
    bigger_pool = [*pool, *kols("D", "E")]
    with CaptureQueriesContext(connection) as few:
        allocate(two, pool, "least_recent")
    with CaptureQueriesContext(connection) as many:
        allocate(four, bigger_pool, "least_recent")
    assert {query["sql"].split()[0] for query in few.captured_queries} == {"SELECT"}
    assert len(few.captured_queries) == len(many.captured_queries) <= 5
