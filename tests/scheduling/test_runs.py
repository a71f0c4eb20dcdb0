"""What one schedule run does: caps, trigger, allocation, batch; closing it; auto-approve; run now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone, translation

from posting.models import Approval, GenerationBatch, Post
from posting.tasks import run_generation_batch
from scheduling import tasks
from scheduling.dispatch import SchedulingPaused, schedule_run_now, schedules_dispatch
from scheduling.finalize import run_finalize
from scheduling.models import Schedule, ScheduleRun
from scheduling.selectors import schedule_preview
from scheduling.services import schedule_pause, schedule_resume, schedule_save, scheduler_pause
from tests.factories import GenerationBatchFactory, PostFactory, StockFactory, default_compliance_rules
from tests.scheduling.schedule_setup import (
    MARKET_DAY,
    active_schedule,
    broker_queue_purge,
    kols,
    market_day,
    taipei,
)

pytestmark = pytest.mark.django_db

Status = ScheduleRun.Status
Reason = ScheduleRun.SkipReason
MONDAY_0900 = taipei(2026, 11, 23, 9, 0)
MONDAY_1430 = taipei(2026, 11, 23, 14, 30, 5)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def run_now(schedule: Schedule, moment: dt.datetime = MONDAY_1430) -> ScheduleRun:
    with time_machine.travel(moment, tick=False):
        return schedule_run_now(schedule=schedule)


# --- Next run: computed by the service on activation and edits ----------------------------------------


def test_saving_an_active_schedule_computes_its_next_run_and_a_paused_one_has_none() -> None:
    schedule = active_schedule(MONDAY_0900)
    assert schedule.next_run_at == taipei(2026, 11, 23, 14, 30)
    assert schedule_pause(schedule=schedule) is True
    assert schedule.status == Schedule.Status.PAUSED and schedule.next_run_at is None


def test_resuming_starts_from_the_next_post_time_without_making_up_the_paused_ones() -> None:
    schedule = active_schedule(MONDAY_0900)
    schedule_pause(schedule=schedule)
    with time_machine.travel(taipei(2026, 11, 24, 15, 0), tick=False):
        assert schedule_resume(schedule=schedule) is True
    assert schedule.next_run_at == taipei(2026, 11, 25, 14, 30)


def test_editing_the_post_times_moves_the_next_run_and_other_edits_keep_it() -> None:
    schedule = active_schedule(MONDAY_0900)
    schedule.name = "renamed"
    schedule_save(schedule=schedule, now=taipei(2026, 11, 23, 14, 30, 30))  # due this minute: kept
    assert schedule.next_run_at == taipei(2026, 11, 23, 14, 30)
    schedule.post_times = ["10:00"]
    schedule_save(schedule=schedule, now=taipei(2026, 11, 23, 14, 31))
    assert schedule.next_run_at == taipei(2026, 11, 24, 10, 0)


def test_an_edit_never_overwrites_the_counters_the_dispatcher_keeps() -> None:
    schedule = active_schedule(MONDAY_0900)
    Schedule.objects.filter(pk=schedule.pk).update(runs_count=7, posts_created_count=12)
    schedule.description = "stale copy of the row"
    schedule_save(schedule=schedule, now=MONDAY_0900)
    schedule.refresh_from_db()
    assert (schedule.runs_count, schedule.posts_created_count) == (7, 12)


def test_activating_a_schedule_without_kols_is_refused_naming_the_pool() -> None:
    from scheduling.services import ScheduleInvalid

    with pytest.raises(ScheduleInvalid) as error:
        active_schedule(MONDAY_0900, pool=[])
    assert "kol_pool" in error.value.fields


# --- One run ----------------------------------------------------------------------------------------


def test_a_run_records_its_candidates_with_reasons_its_assignments_and_its_batch() -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900, posts_per_run=2)
    run = run_now(schedule)
    assert run.status == Status.RUNNING and run.kind == ScheduleRun.Kind.MANUAL
    assert run.slot.startswith("manual-2026-11-23T14:30:05")
    assert run.trigger_as_of == MARKET_DAY
    assert [candidate["key"] for candidate in run.candidates] == ["stock:2330", "stock:2317", "stock:2454"]
    assert all(candidate["reasons"] for candidate in run.candidates)
    assert len(run.assignments) == 2
    assert [skip["code"] for skip in run.allocation_skipped] == ["run_full"]
    assert run.batch is not None and run.batch.source == GenerationBatch.Source.SCHEDULE
    assert run.batch.requested_count == 2 and run.batch.source_ref == f"schedule:{schedule.pk}:{run.slot}"


def test_the_daily_cap_limits_a_run_to_what_is_left_and_then_skips_with_the_reason() -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900, posts_per_run=2, max_posts_per_day=3)
    first = run_now(schedule, taipei(2026, 11, 23, 10, 0))
    second = run_now(schedule, taipei(2026, 11, 23, 11, 0))
    third = run_now(schedule, taipei(2026, 11, 23, 12, 0))
    assert (len(first.assignments), len(second.assignments)) == (2, 1)
    assert (third.status, third.skip_reason) == (Status.SKIPPED, Reason.DAILY_CAP)
    assert "3 of its 3" in third.message
    tomorrow = run_now(schedule, taipei(2026, 11, 24, 10, 0))
    assert len(tomorrow.assignments) == 2


def test_the_cap_counts_the_posts_created_not_the_items_that_failed() -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900, posts_per_run=2, max_posts_per_day=2)
    batch = GenerationBatchFactory(
        source=GenerationBatch.Source.SCHEDULE,
        status=GenerationBatch.Status.FINISHED,
        requested_count=2,
        succeeded_count=1,
        failed_count=1,
        started_at=taipei(2026, 11, 23, 10, 0),
        finished_at=taipei(2026, 11, 23, 10, 1),
    )
    ScheduleRun.objects.create(
        schedule=schedule, slot="earlier", slot_at=taipei(2026, 11, 23, 10, 0),
        started_at=taipei(2026, 11, 23, 10, 0), status=Status.SUCCEEDED, batch=batch,
    )  # fmt: skip
    PostFactory(batch=batch, stock=StockFactory(code="1101"))
    run = run_now(schedule)
    assert len(run.assignments) == 1


def test_the_anti_coordination_window_keeps_a_third_persona_off_a_stock(settings: Any) -> None:
    settings.ALLOCATION_MAX_PERSONAS_PER_STOCK = 1
    settings.ALLOCATION_STOCK_WINDOW_MINUTES = 120
    stocks = market_day()
    outsider = kols(1)[0]
    with time_machine.travel(taipei(2026, 11, 23, 14, 0), tick=False):
        PostFactory(kol=outsider, stock=stocks[0])  # 2330, 30 minutes before the run
    schedule = active_schedule(MONDAY_0900, posts_per_run=3)
    run = run_now(schedule)
    assigned = [item["candidate"] for item in run.assignments]
    assert assigned == ["stock:2317", "stock:2454"]
    [skip] = run.allocation_skipped
    assert (skip["candidate"], skip["code"]) == ("stock:2330", "stock_window_full")


def test_no_kol_writes_the_same_stock_twice_on_one_day() -> None:
    stocks = market_day(codes=("2330",))
    [kol] = kols(1)
    with time_machine.travel(taipei(2026, 11, 23, 9, 30), tick=False):
        PostFactory(kol=kol, stock=stocks[0])
    schedule = active_schedule(MONDAY_0900, pool=[kol], trigger_config={"stock_codes": ["2330"]})
    run = run_now(schedule)
    assert (run.status, run.skip_reason) == (Status.SKIPPED, Reason.NO_KOL_AVAILABLE)
    assert run.allocation_skipped[0]["code"] == "same_stock_today"
    assert "same_stock_today" in run.message


def test_a_trigger_that_picks_nothing_is_a_skip_with_the_reason() -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900, trigger_type="limit_up", trigger_config={"threshold_pct": 9.5})
    run = run_now(schedule)
    assert (run.status, run.skip_reason) == (Status.SKIPPED, Reason.NO_CANDIDATES)
    assert "2026-11-20" in run.message and run.batch is None


def test_missing_market_data_fails_the_run_with_a_message_naming_it() -> None:
    schedule = active_schedule(MONDAY_0900, trigger_type="top_gainers", trigger_config={"limit": 5})
    run = run_now(schedule)
    assert run.status == Status.FAILED and "No daily quotes" in run.message
    schedule.refresh_from_db()
    assert schedule.last_run_status == Status.FAILED and schedule.runs_count == 0


def test_run_now_works_for_a_paused_schedule_and_is_refused_under_the_global_pause() -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900)
    schedule_pause(schedule=schedule)
    assert run_now(schedule).status == Status.RUNNING
    scheduler_pause()
    with pytest.raises(SchedulingPaused):
        run_now(schedule, taipei(2026, 11, 23, 15, 0))


def test_the_preview_assigns_the_same_kols_as_the_run_of_that_post_time() -> None:
    market_day()
    pool = kols(6)
    schedule = active_schedule(MONDAY_0900, pool=pool, allocation_strategy="random")
    with time_machine.travel(taipei(2026, 11, 23, 14, 29), tick=False):
        preview = schedule_preview(schedule=schedule)
    schedules_dispatch(now=MONDAY_1430)
    run = ScheduleRun.objects.get(schedule=schedule)
    previewed = [item["kol"]["id"] for item in preview["allocation"]["assignments"]]
    assert previewed == [item["kol"]["id"] for item in run.assignments] and len(previewed) == 2


# --- Closing a run, and auto-approve ----------------------------------------------------------------


def _finished_run(schedule: Schedule, *, status: str = GenerationBatch.Status.FINISHED) -> ScheduleRun:
    started = taipei(2026, 11, 23, 14, 30)
    batch = GenerationBatchFactory(
        source=GenerationBatch.Source.SCHEDULE, status=status, requested_count=3, succeeded_count=3,
        started_at=started, finished_at=started + dt.timedelta(minutes=1),
    )  # fmt: skip
    return ScheduleRun.objects.create(
        schedule=schedule, slot="2026-11-23T14:30+08:00", slot_at=started, started_at=started, batch=batch
    )


def _drafts(run: ScheduleRun) -> dict[str, Post]:
    block = [{"code": "guaranteed_return", "severity": "block", "excerpt": "穩賺", "message": "..."}]
    made = {
        "good": PostFactory(batch=run.batch, quality_score=0.9),
        "blocked": PostFactory(
            batch=run.batch, quality_score=0.95, check_findings=block, risk_level="blocked"
        ),
        "weak": PostFactory(batch=run.batch, quality_score=0.5),
        "unchecked": PostFactory(batch=run.batch, quality_score=None),
    }
    return cast(dict[str, Post], made)


def _status(post: Post) -> str:
    post.refresh_from_db()
    return post.status


def test_auto_approve_off_leaves_every_draft_in_the_review_queue() -> None:
    schedule = active_schedule(MONDAY_0900)
    run = _finished_run(schedule)
    drafts = _drafts(run)
    closed = run_finalize(run_id=run.pk)
    assert closed is not None and closed.status == Status.SUCCEEDED and closed.posts_created == 4
    assert {_status(post) for post in drafts.values()} == {Post.Status.PENDING_REVIEW}
    assert closed.auto_approved == 0 and closed.review == {}
    schedule.refresh_from_db()
    assert schedule.posts_created_count == 4 and schedule.last_run_status == Status.SUCCEEDED


def test_auto_approve_approves_only_clean_drafts_at_or_above_the_threshold_as_the_schedule() -> None:
    schedule = active_schedule(MONDAY_0900, auto_approve=True, auto_approve_min_quality=0.8)
    run = _finished_run(schedule)
    drafts = _drafts(run)
    with time_machine.travel(taipei(2026, 11, 23, 14, 40), tick=False):
        tasks.finalize_schedule_runs()
    assert _status(drafts["good"]) == Post.Status.APPROVED
    assert {_status(drafts[name]) for name in ("blocked", "weak", "unchecked")} == {
        Post.Status.PENDING_REVIEW
    }
    approval = Approval.objects.get(post=drafts["good"])
    assert approval.approved_by is None and approval.approved_by_label == f"schedule:{schedule.pk}"
    run.refresh_from_db()
    assert run.auto_approved == 1
    kept = {item["post"]: item["code"] for item in run.review["kept"]}
    assert kept == {
        str(drafts["blocked"].pk): "blocking_finding",
        str(drafts["weak"].pk): "quality_below_minimum",
        str(drafts["unchecked"].pk): "not_checked",
    }


def test_auto_approved_drafts_are_scheduled_after_the_publish_offset() -> None:
    schedule = active_schedule(MONDAY_0900, auto_approve=True, publish_offset_minutes=45)
    run = _finished_run(schedule)
    good = PostFactory(batch=run.batch, quality_score=0.85)
    moment = taipei(2026, 11, 23, 14, 40)
    with time_machine.travel(moment, tick=False):
        run_finalize(run_id=run.pk)
    good.refresh_from_db()
    assert good.status == Post.Status.SCHEDULED and good.scheduled_at == moment + dt.timedelta(minutes=45)


def test_a_draft_a_reviewer_already_decided_is_left_alone_by_auto_approve(reviewer: User) -> None:
    schedule = active_schedule(MONDAY_0900, auto_approve=True)
    run = _finished_run(schedule)
    rejected = cast(Post, PostFactory(batch=run.batch, quality_score=0.99, status=Post.Status.REJECTED))
    closed = run_finalize(run_id=run.pk)
    assert closed is not None and closed.review["kept"][0]["code"] == "not_pending_review"
    assert _status(rejected) == Post.Status.REJECTED


def test_a_run_is_closed_once_and_a_failed_batch_fails_the_run() -> None:
    schedule = active_schedule(MONDAY_0900)
    run = _finished_run(schedule, status=GenerationBatch.Status.FAILED)
    assert run_finalize(run_id=run.pk) is not None
    assert run_finalize(run_id=run.pk) is None
    run.refresh_from_db()
    assert (
        run.status == Status.FAILED
        and run.message == "The generation batch ended: Failed."
        and run.finished_at is not None
    )


def test_a_run_whose_batch_is_still_generating_stays_running() -> None:
    schedule = active_schedule(MONDAY_0900)
    run = _finished_run(schedule, status=GenerationBatch.Status.RUNNING)
    assert tasks.finalize_schedule_runs() == {"closed": 0, "auto_approved": 0}
    run.refresh_from_db()
    assert run.status == Status.RUNNING and timezone.is_aware(run.started_at)


# --- The whole way: dispatcher, the real batch runner, the review queue ------------------------------


@pytest.fixture
def _queued_tasks_dropped() -> Iterator[None]:
    yield
    broker_queue_purge()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_queued_tasks_dropped")
def test_a_scheduled_run_ends_with_drafts_in_the_review_queue(settings: Any) -> None:
    # One lane: SQLite's shared in-memory test database locks whole tables between threads.
    settings.GENERATION_CONCURRENCY = 1
    default_compliance_rules()
    market_day()
    schedule = active_schedule(MONDAY_0900, posts_per_run=2)
    schedules_dispatch(now=MONDAY_1430)
    run = ScheduleRun.objects.select_related("batch").get(schedule=schedule)
    assert run.batch is not None and run.batch.writer == "template"  # no LLM configured in tests

    # The batch task, run in this process as the worker would run it.
    outcome = run_generation_batch(run.batch.pk, run.batch.runner_token)
    assert outcome["finished"] is True, outcome
    tasks.finalize_schedule_runs()

    run.refresh_from_db()
    assert (run.status, run.posts_created, run.auto_approved) == (Status.SUCCEEDED, 2, 0)
    drafts = list(Post.objects.filter(batch=run.batch).select_related("kol", "stock"))
    assert {post.status for post in drafts} == {Post.Status.PENDING_REVIEW}
    assert {post.stock.code for post in drafts if post.stock} == {"2330", "2317"}
    assert {post.kol.pk for post in drafts} == {item["kol"]["id"] for item in run.assignments}
    assert all(post.generator == Post.Generator.TEMPLATE and post.checked_at for post in drafts)
    assert all(post.trigger_type == "individual" for post in drafts)
    schedule.refresh_from_db()
    assert (schedule.posts_created_count, schedule.last_run_status) == (2, Status.SUCCEEDED)
