"""The beat dispatcher: post times across slot boundaries, one run per slot, days rules, missed runs."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from market.models import TradingDayOverride
from scheduling import tasks
from scheduling.dispatch import schedule_dispatch, schedules_dispatch
from scheduling.models import Schedule, ScheduleRun
from scheduling.services import scheduler_pause, scheduler_resume
from tests.factories import default_compliance_rules
from tests.scheduling.schedule_setup import active_schedule, broker_queue_purge, market_day, taipei

pytestmark = pytest.mark.django_db

Status = ScheduleRun.Status
Reason = ScheduleRun.SkipReason


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def runs(schedule: Schedule) -> list[ScheduleRun]:
    return list(ScheduleRun.objects.filter(schedule=schedule).order_by("slot_at", "id"))


def dispatch_at(moment: dt.datetime) -> None:
    with time_machine.travel(moment, tick=False):
        tasks.dispatch_due_schedules()


# --- Slot boundaries and the once-per-slot guarantee ----------------------------------------------------


def test_the_dispatcher_runs_a_post_time_once_when_it_comes_and_moves_to_the_next() -> None:
    market_day()
    schedule = active_schedule(taipei(2026, 11, 23, 9, 0))  # Monday
    assert schedule.next_run_at == taipei(2026, 11, 23, 14, 30)

    dispatch_at(taipei(2026, 11, 23, 14, 29, 59))
    assert runs(schedule) == []

    dispatch_at(taipei(2026, 11, 23, 14, 30, 3))
    dispatch_at(taipei(2026, 11, 23, 14, 31, 2))
    [run] = runs(schedule)
    assert (run.slot, run.kind, run.status) == ("2026-11-23T14:30+08:00", "scheduled", Status.RUNNING)
    assert run.batch is not None and len(run.assignments) == 2
    schedule.refresh_from_db()
    assert schedule.next_run_at == taipei(2026, 11, 24, 14, 30)
    assert (schedule.runs_count, schedule.last_run_status) == (1, Status.RUNNING)

    dispatch_at(taipei(2026, 11, 24, 14, 30, 1))
    assert [run.slot for run in runs(schedule)] == ["2026-11-23T14:30+08:00", "2026-11-24T14:30+08:00"]


def test_two_post_times_a_day_each_run_in_turn() -> None:
    market_day()
    schedule = active_schedule(taipei(2026, 11, 23, 8, 0), post_times=["13:45", "09:00"], posts_per_run=1)
    for moment in (taipei(2026, 11, 23, 9, 0), taipei(2026, 11, 23, 12, 0), taipei(2026, 11, 23, 13, 45)):
        dispatch_at(moment)
    assert [run.slot for run in runs(schedule)] == ["2026-11-23T09:00+08:00", "2026-11-23T13:45+08:00"]


def test_dispatching_twice_in_the_same_minute_runs_the_slot_once() -> None:
    market_day()
    schedule = active_schedule(taipei(2026, 11, 23, 9, 0))
    moment = taipei(2026, 11, 23, 14, 30, 5)
    first = schedules_dispatch(now=moment)
    second = schedules_dispatch(now=moment)
    assert (first.schedules, second.schedules) == (1, 0)
    assert len(runs(schedule)) == 1


def test_a_retried_dispatch_of_a_slot_that_already_ran_writes_nothing() -> None:
    market_day()
    schedule = active_schedule(taipei(2026, 11, 23, 9, 0))
    schedules_dispatch(now=taipei(2026, 11, 23, 14, 30, 5))
    # As if another dispatcher had read the old next_run_at before this one advanced it.
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=taipei(2026, 11, 23, 14, 30))
    assert schedule_dispatch(schedule_id=schedule.pk, now=taipei(2026, 11, 23, 14, 30, 20)) == []
    assert len(runs(schedule)) == 1


def test_the_database_refuses_a_second_run_for_the_same_slot() -> None:
    schedule = active_schedule(taipei(2026, 11, 23, 9, 0))
    fields: dict[str, Any] = {
        "schedule": schedule,
        "slot": "2026-11-23T14:30+08:00",
        "slot_at": taipei(2026, 11, 23, 14, 30),
        "started_at": taipei(2026, 11, 23, 14, 30),
    }
    ScheduleRun.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduleRun.objects.create(**fields)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_in_parallel_threads_run_a_slot_exactly_once() -> None:
    default_compliance_rules()
    market_day()
    schedule = active_schedule(taipei(2026, 11, 23, 9, 0))
    moment = taipei(2026, 11, 23, 14, 30, 5)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            barrier.wait(timeout=10)
            schedules_dispatch(now=moment)
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    broker_queue_purge()
    assert errors == []
    assert ScheduleRun.objects.filter(schedule=schedule).count() == 1
    schedule.refresh_from_db()
    assert schedule.runs_count == 1 and schedule.next_run_at == taipei(2026, 11, 24, 14, 30)


def test_a_paused_schedule_is_not_dispatched() -> None:
    schedule = active_schedule(taipei(2026, 11, 23, 9, 0))
    Schedule.objects.filter(pk=schedule.pk).update(status=Schedule.Status.PAUSED)
    dispatch_at(taipei(2026, 11, 23, 14, 30))
    assert runs(schedule) == []


def test_a_broken_schedule_fails_with_its_reason_and_the_others_still_run() -> None:
    market_day()
    broken = active_schedule(
        taipei(2026, 11, 23, 9, 0), name="broken", trigger_config={"stock_codes": ["9999"]}
    )
    healthy = active_schedule(taipei(2026, 11, 23, 9, 0), name="healthy")
    dispatch_at(taipei(2026, 11, 23, 14, 30))
    [failed] = runs(broken)
    assert failed.status == Status.FAILED and "9999" in failed.message and failed.batch is None
    assert [run.status for run in runs(healthy)] == [Status.RUNNING]


# --- Days rules -------------------------------------------------------------------------------------


def test_trading_days_skip_a_national_holiday_and_the_weekend() -> None:
    # Friday 9 October 2026 is the National Day holiday; the exchange reopens on Monday the 12th.
    schedule = active_schedule(taipei(2026, 10, 8, 15, 0))
    assert schedule.next_run_at == taipei(2026, 10, 12, 14, 30)


def test_weekdays_run_on_a_national_holiday_but_not_at_the_weekend() -> None:
    schedule = active_schedule(taipei(2026, 10, 8, 15, 0), days_rule=Schedule.DaysRule.WEEKDAYS)
    assert schedule.next_run_at == taipei(2026, 10, 9, 14, 30)
    schedule = active_schedule(taipei(2026, 10, 9, 15, 0), days_rule=Schedule.DaysRule.WEEKDAYS, name="w2")
    assert schedule.next_run_at == taipei(2026, 10, 12, 14, 30)


def test_every_day_runs_on_a_saturday() -> None:
    schedule = active_schedule(taipei(2026, 11, 20, 15, 0), days_rule=Schedule.DaysRule.EVERY_DAY)
    assert schedule.next_run_at == taipei(2026, 11, 21, 14, 30)


def test_a_make_up_trading_day_on_a_saturday_is_a_run_day() -> None:
    TradingDayOverride.objects.create(date=dt.date(2026, 11, 21), is_open=True, reason="補行交易日")
    schedule = active_schedule(taipei(2026, 11, 20, 15, 0))
    assert schedule.next_run_at == taipei(2026, 11, 21, 14, 30)


def test_a_typhoon_closure_entered_after_the_next_run_was_set_skips_that_day_with_the_reason() -> None:
    market_day()
    schedule = active_schedule(taipei(2026, 11, 23, 15, 0))
    assert schedule.next_run_at == taipei(2026, 11, 24, 14, 30)
    TradingDayOverride.objects.create(date=dt.date(2026, 11, 24), is_open=False, reason="颱風停止交易")

    dispatch_at(taipei(2026, 11, 24, 14, 30))
    [skipped] = runs(schedule)
    assert (skipped.status, skipped.skip_reason) == (Status.SKIPPED, Reason.NOT_TRADING_DAY)
    assert "2026-11-24" in skipped.message and skipped.batch is None
    schedule.refresh_from_db()
    assert schedule.next_run_at == taipei(2026, 11, 25, 14, 30)


# --- Missed runs after downtime ---------------------------------------------------------------------


def _two_times(policy: str, **fields: Any) -> Schedule:
    return active_schedule(
        taipei(2026, 11, 23, 9, 0),
        post_times=["11:30", "14:30"],
        missed_run_policy=policy,
        missed_run_grace_minutes=60,
        **fields,
    )


def test_a_post_time_a_few_minutes_late_still_runs_on_time() -> None:
    market_day()
    schedule = _two_times(Schedule.MissedRunPolicy.SKIP)
    dispatch_at(taipei(2026, 11, 23, 11, 34))
    [run] = runs(schedule)
    assert (run.kind, run.status) == ("scheduled", Status.RUNNING)


def test_skip_policy_records_each_missed_post_time_with_the_reason_and_runs_none() -> None:
    market_day()
    schedule = _two_times(Schedule.MissedRunPolicy.SKIP)
    dispatch_at(taipei(2026, 11, 23, 15, 10))  # down from before 11:30 until 15:10
    recorded = runs(schedule)
    assert [(run.slot, run.status, run.skip_reason) for run in recorded] == [
        ("2026-11-23T11:30+08:00", Status.SKIPPED, Reason.MISSED),
        ("2026-11-23T14:30+08:00", Status.SKIPPED, Reason.MISSED),
    ]
    assert "11:30" in recorded[0].message and "skips missed runs" in recorded[0].message
    schedule.refresh_from_db()
    assert schedule.next_run_at == taipei(2026, 11, 24, 11, 30) and schedule.runs_count == 0


def test_run_once_runs_only_the_latest_missed_post_time_inside_the_grace_window_once() -> None:
    market_day()
    schedule = _two_times(Schedule.MissedRunPolicy.RUN_ONCE)
    dispatch_at(taipei(2026, 11, 23, 15, 10))
    dispatch_at(taipei(2026, 11, 23, 15, 11))
    recorded = runs(schedule)
    assert [(run.slot, run.kind, run.status, run.skip_reason) for run in recorded] == [
        ("2026-11-23T11:30+08:00", "scheduled", Status.SKIPPED, Reason.SUPERSEDED),
        ("2026-11-23T14:30+08:00", "catch_up", Status.RUNNING, ""),
    ]
    assert recorded[1].batch is not None


def test_run_once_skips_a_missed_post_time_later_than_the_grace_window() -> None:
    market_day()
    schedule = _two_times(Schedule.MissedRunPolicy.RUN_ONCE)
    dispatch_at(taipei(2026, 11, 23, 15, 31))  # 61 minutes after 14:30
    recorded = runs(schedule)
    assert [run.skip_reason for run in recorded] == [Reason.MISSED_OUTSIDE_GRACE] * 2
    assert "60 minutes" in recorded[1].message
    assert not any(run.batch_id for run in recorded)


def test_downtime_across_days_runs_the_post_time_that_is_due_now_and_records_the_rest() -> None:
    market_day()
    schedule = _two_times(Schedule.MissedRunPolicy.RUN_ONCE)
    dispatch_at(taipei(2026, 11, 24, 11, 30, 10))  # down since Monday morning
    recorded = runs(schedule)
    assert [(run.slot[:16], run.status) for run in recorded] == [
        ("2026-11-23T11:30", Status.SKIPPED),
        ("2026-11-23T14:30", Status.SKIPPED),
        ("2026-11-24T11:30", Status.RUNNING),
    ]
    assert {run.skip_reason for run in recorded[:2]} == {Reason.SUPERSEDED}


# --- The global pause -------------------------------------------------------------------------------


def test_a_global_pause_records_due_post_times_as_skipped_and_resuming_runs_the_next() -> None:
    market_day()
    schedule = active_schedule(taipei(2026, 11, 23, 9, 0))
    scheduler_pause()
    dispatch_at(taipei(2026, 11, 23, 14, 30))
    [skipped] = runs(schedule)
    assert (skipped.status, skipped.skip_reason) == (Status.SKIPPED, Reason.GLOBAL_PAUSE)
    schedule.refresh_from_db()
    assert schedule.status == Schedule.Status.ACTIVE and schedule.next_run_at == taipei(2026, 11, 24, 14, 30)

    scheduler_resume()
    dispatch_at(taipei(2026, 11, 24, 14, 30))
    assert [run.status for run in runs(schedule)] == [Status.SKIPPED, Status.RUNNING]
