"""The schedule admin: list with today's numbers, run now, preview, pause/resume, global pause, history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from posting.models import GenerationBatch, Post
from scheduling.dispatch import schedules_dispatch
from scheduling.models import Schedule, SchedulerState, ScheduleRun
from scheduling.services import scheduler_is_paused
from tests.factories import PostFactory, ScheduleFactory
from tests.scheduling.schedule_setup import active_schedule, kols, market_day, taipei

pytestmark = pytest.mark.django_db

LIST = "/admin/scheduling/schedule/"
RUNS = "/admin/scheduling/schedulerun/"
MONDAY_0900 = taipei(2026, 11, 23, 9, 0)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _url(schedule: Schedule, action: str) -> str:
    return reverse(f"admin:scheduling_schedule_{action}", args=[schedule.pk])


def _run(schedule: Schedule, slot: str, status: str, **fields: Any) -> ScheduleRun:
    moment = taipei(2026, 11, 23, 14, 30)
    return ScheduleRun.objects.create(
        schedule=schedule, slot=slot, slot_at=moment, started_at=moment, status=status, **fields
    )


def _writes(captured: CaptureQueriesContext) -> list[str]:
    statements = [query["sql"].lstrip().upper() for query in captured.captured_queries]
    # The session may be saved; nothing else may be written.
    return [
        sql for sql in statements if sql.startswith(("INSERT", "UPDATE", "DELETE")) and "SESSION" not in sql
    ]


# --- The list ---------------------------------------------------------------------------------------


def _column(html: str, name: str) -> str:
    found = re.search(rf'class="field-{name}[^"]*"[^>]*>([^<]*)<', html)
    assert found is not None, name
    return found.group(1).strip()


def test_the_list_shows_next_run_in_taipei_last_status_and_todays_counts(administrator: User) -> None:
    schedule = active_schedule(MONDAY_0900, name="盤後排程")
    batch = GenerationBatch.objects.create(source="schedule")
    PostFactory.create_batch(2, batch=batch)
    _run(schedule, "a", "succeeded", batch=batch)
    _run(schedule, "b", "skipped", skip_reason="daily_cap", message="cap")
    Schedule.objects.filter(pk=schedule.pk).update(last_run_status="skipped")
    with time_machine.travel(taipei(2026, 11, 23, 18, 0), tick=False):
        html = _client(administrator).get(LIST).content.decode()
    assert "盤後排程" in html and "Skipped" in html
    assert _column(html, "next_run_local") == "2026-11-23 14:30"  # Asia/Taipei
    assert [_column(html, name) for name in ("runs_today", "skipped_today", "posts_today")] == ["1", "1", "2"]
    with time_machine.travel(taipei(2026, 11, 24, 9, 0), tick=False):
        tomorrow = _client(administrator).get(LIST).content.decode()
    assert [_column(tomorrow, name) for name in ("runs_today", "skipped_today", "posts_today")] == [
        "0",
        "0",
        "0",
    ]


def test_the_list_takes_the_same_queries_for_3_or_20_schedules(
    administrator: User, django_assert_max_num_queries: Any
) -> None:
    client = _client(administrator)
    ScheduleFactory.create_batch(3)
    with django_assert_max_num_queries(25) as few:
        assert client.get(LIST).status_code == 200
    ScheduleFactory.create_batch(17)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(LIST).status_code == 200


# --- One schedule -----------------------------------------------------------------------------------


def test_run_now_asks_first_then_runs_through_the_service(administrator: User) -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900)
    client = _client(administrator)
    confirm = client.get(_url(schedule, "run_now_detail"))
    assert confirm.status_code == 200 and not ScheduleRun.objects.exists()
    with time_machine.travel(taipei(2026, 11, 23, 10, 0), tick=False):
        response = client.post(_url(schedule, "run_now_detail"))
    run = ScheduleRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/schedulerun/{run.pk}/change/")
    assert run.kind == "manual" and run.requested_by == administrator and run.batch is not None


def test_run_now_on_the_selected_schedules_is_a_bulk_action(administrator: User) -> None:
    market_day()
    first = active_schedule(MONDAY_0900, name="one")
    second = active_schedule(MONDAY_0900, name="two")
    with time_machine.travel(taipei(2026, 11, 23, 10, 0), tick=False):
        _client(administrator).post(
            LIST, {"action": "run_now_selected", "_selected_action": [first.pk, second.pk]}
        )
    assert sorted(ScheduleRun.objects.values_list("schedule__name", flat=True)) == ["one", "two"]


def test_the_preview_page_shows_candidates_and_assignments_and_writes_nothing(administrator: User) -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900)
    client = _client(administrator)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(_url(schedule, "preview_detail"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "2330 台積電" in html and html.count("stock:") >= 3  # three candidates, two assigned
    assert _writes(captured) == []
    assert (
        not ScheduleRun.objects.exists()
        and not GenerationBatch.objects.exists()
        and not Post.objects.exists()
    )


def test_the_preview_page_says_what_data_is_missing(administrator: User) -> None:
    schedule = active_schedule(MONDAY_0900, trigger_type="top_gainers", trigger_config={"limit": 3})
    html = _client(administrator).get(_url(schedule, "preview_detail")).content.decode()
    assert 'id="preview-error"' in html and "No daily quotes" in html


def test_pause_and_resume_one_schedule_from_its_page(administrator: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    client = _client(administrator)
    client.get(_url(schedule, "pause_detail"))
    schedule.refresh_from_db()
    assert schedule.status == Schedule.Status.ACTIVE  # a GET only asks
    client.post(_url(schedule, "pause_detail"))
    schedule.refresh_from_db()
    assert schedule.status == Schedule.Status.PAUSED and schedule.next_run_at is None
    client.post(_url(schedule, "resume_detail"))
    schedule.refresh_from_db()
    assert schedule.status == Schedule.Status.ACTIVE and schedule.next_run_at is not None


def test_saving_the_form_goes_through_the_service_and_computes_the_next_run(administrator: User) -> None:
    pool = kols(1)
    data = {
        "name": "早盤題材",
        "description": "",
        "status": "active",
        "trigger_type": "top_gainers",
        "config__top_gainers__limit": 5,
        "post_type": "analysis",
        "post_length": "medium",
        "kol_pool": [pool[0].pk],
        "allocation_strategy": "round_robin",
        "posts_per_run": 1,
        "max_posts_per_day": 3,
        "post_times": "8:30",
        "days_rule": "trading_days",
        "missed_run_policy": "skip",
        "missed_run_grace_minutes": 30,
        "auto_approve_min_quality": 0.8,
    }
    with time_machine.travel(MONDAY_0900, tick=False):
        response = _client(administrator).post(reverse("admin:scheduling_schedule_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = Schedule.objects.get(name="早盤題材")
    assert schedule.next_run_at == taipei(2026, 11, 24, 8, 30)
    assert list(schedule.kol_pool.all()) == pool
    assert schedule.trigger_config == {"limit": 5} and schedule.post_times == ["08:30"]


def test_the_form_refuses_activation_without_kols_and_a_trigger_setting_out_of_bounds(
    administrator: User,
) -> None:
    data = {
        "name": "x", "status": "active", "trigger_type": "limit_up", "config__limit_up__threshold_pct": 30,
        "post_type": "analysis", "post_length": "medium", "allocation_strategy": "round_robin",
        "posts_per_run": 1, "max_posts_per_day": 3, "post_times": "08:30", "days_rule": "trading_days",
        "missed_run_policy": "skip", "missed_run_grace_minutes": 30, "auto_approve_min_quality": 0.8,
    }  # fmt: skip
    html = _client(administrator).post(reverse("admin:scheduling_schedule_add"), data).content.decode()
    assert "less than or equal to 10" in html and "Add at least one KOL" in html
    assert not Schedule.objects.exists()


def test_a_reviewer_may_look_but_not_run_or_pause(reviewer: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    client = _client(reviewer)
    assert client.get(LIST).status_code == 200
    assert client.post(_url(schedule, "run_now_detail")).status_code == 403
    assert client.post(_url(schedule, "pause_detail")).status_code == 403
    schedule.refresh_from_db()
    assert schedule.status == Schedule.Status.ACTIVE and not ScheduleRun.objects.exists()


# --- The global pause -------------------------------------------------------------------------------


def test_the_global_pause_stops_every_schedule_and_resuming_restores_each_own_state(
    administrator: User,
) -> None:
    market_day()
    running = active_schedule(MONDAY_0900, name="running")
    stopped = active_schedule(MONDAY_0900, name="stopped")
    Schedule.objects.filter(pk=stopped.pk).update(status=Schedule.Status.PAUSED, next_run_at=None)
    client = _client(administrator)
    pause_all = reverse("admin:scheduling_schedule_pause_all")

    client.get(pause_all)
    assert not scheduler_is_paused()  # a GET only asks
    client.post(pause_all)
    assert scheduler_is_paused()
    assert "paused globally" in client.get(LIST).content.decode()
    schedules_dispatch(now=taipei(2026, 11, 23, 14, 30))
    assert ScheduleRun.objects.get(schedule=running).skip_reason == ScheduleRun.SkipReason.GLOBAL_PAUSE

    client.post(reverse("admin:scheduling_schedule_resume_all"))
    state = SchedulerState.objects.get()
    assert state.paused is False and state.changed_by == administrator
    statuses = dict(Schedule.objects.values_list("name", "status"))
    assert statuses == {"running": "active", "stopped": "paused"}
    schedules_dispatch(now=taipei(2026, 11, 24, 14, 30))
    assert ScheduleRun.objects.filter(schedule=running, status="running").count() == 1
    assert not ScheduleRun.objects.filter(schedule=stopped).exists()


# --- Run history ------------------------------------------------------------------------------------


def test_the_run_history_is_read_only_and_linked_from_the_schedule(
    reviewer: User, administrator: User
) -> None:
    schedule = active_schedule(MONDAY_0900)
    run = _run(schedule, "2026-11-23T14:30+08:00", "skipped", skip_reason="no_candidates", message="沒有候選")
    html = (
        _client(administrator)
        .get(reverse("admin:scheduling_schedule_change", args=[schedule.pk]))
        .content.decode()
    )
    assert reverse("admin:scheduling_schedulerun_change", args=[run.pk]) in html
    assert f"{RUNS}?schedule__id__exact={schedule.pk}" in html
    client = _client(reviewer)
    assert "Skipped" in client.get(RUNS).content.decode()
    detail = client.get(reverse("admin:scheduling_schedulerun_change", args=[run.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.post(reverse("admin:scheduling_schedulerun_delete", args=[run.pk])).status_code == 403


def test_the_run_history_takes_the_same_queries_for_3_or_30_runs(
    administrator: User, django_assert_max_num_queries: Any
) -> None:
    schedule = active_schedule(MONDAY_0900)
    client = _client(administrator)
    for n in range(3):
        _run(schedule, f"slot-{n}", "skipped", skip_reason="missed", message="down")
    with django_assert_max_num_queries(25) as few:
        assert client.get(RUNS).status_code == 200
    for n in range(3, 30):
        _run(schedule, f"slot-{n}", "succeeded", batch=GenerationBatch.objects.create(source="schedule"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(RUNS).status_code == 200


def test_a_run_page_shows_its_outcome_as_zh_hant_tables_not_json(administrator: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    draft = PostFactory()
    stock = {"id": 1, "code": "2330", "name": "台積電", "industry": "半導體業", "market": "TWSE"}
    run = _run(
        schedule,
        "2026-11-23T14:30+08:00",
        "succeeded",
        finished_at=taipei(2026, 11, 23, 14, 31).replace(microsecond=123456),
        candidates=[
            {
                "rank": 1, "key": "stock:2330", "stock": stock, "topic": None, "score": 5.123456,
                "summary": "漲 5.12%", "reasons": [{"code": "ranked_by", "rank_by": "change_pct"}],
            }
        ],
        trigger_excluded={"suspended": 2},
        assignments=[
            {"rank": 1, "candidate": "stock:2330", "kol": {"id": 1, "nickname": "阿明", "persona": "p"},
             "reasons": [{"code": "strategy"}]}
        ],
        allocation_skipped=[
            {"rank": 2, "candidate": "stock:2317", "code": "no_kol", "message": "沒有 KOL 可寫",
             "blocked": [{"kol_id": 1, "kol": "阿明", "code": "hourly_cap", "count": 2, "cap": 2}]}
        ],
        review={
            "approved": [],
            "kept": [{"post": str(draft.pk), "code": "quality_below_minimum", "quality": 0.5, "minimum": 0.8}],
        },
    )  # fmt: skip
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hant")
    client.force_login(administrator)
    with translation.override("zh-hant"):
        html = client.get(reverse("admin:scheduling_schedulerun_change", args=[run.pk])).content.decode()
    assert html.count('<table class="kol-table">') == 5
    assert "2330 台積電" in html and "5.12" in html and "5.123456" not in html
    assert "排名入選" in html  # the reason in words
    assert "暫停交易" in html and "阿明" in html and "已達每小時上限" in html
    assert "2317" in html and "沒有 KOL 可寫" in html
    assert reverse("admin:posting_post_change", args=[draft.pk]) in html and "品質" in html
    assert "2026-11-23 14:31" in html and "123456" not in html
    for raw in ("{&#x27;", "{&quot;", "&quot;code&quot;", "&#x27;code&#x27;", '"code":'):
        assert raw not in html


def test_post_times_and_trigger_settings_are_plain_inputs_and_bad_ones_keep_what_was_typed(
    administrator: User,
) -> None:
    data = {
        "name": "y", "status": "paused", "trigger_type": "news", "config__news__keywords": "台積電\n法說會",
        "post_type": "analysis", "post_length": "medium", "allocation_strategy": "round_robin",
        "posts_per_run": 1, "max_posts_per_day": 3, "post_times": "08:30, 25:00", "days_rule": "trading_days",
        "missed_run_policy": "skip", "missed_run_grace_minutes": 30, "auto_approve_min_quality": 0.8,
    }  # fmt: skip
    client = _client(administrator)
    html = client.post(reverse("admin:scheduling_schedule_add"), data).content.decode()
    assert "is not a time of day" in html and "08:30, 25:00" in html and "法說會" in html
    assert not Schedule.objects.exists()
    client.post(reverse("admin:scheduling_schedule_add"), {**data, "post_times": "13:45, 8:30"})
    schedule = Schedule.objects.get(name="y")
    assert schedule.post_times == ["08:30", "13:45"]
    assert schedule.trigger_config == {"keywords": ["台積電", "法說會"]}


def test_a_schema_problem_on_the_schedule_form_is_a_zh_hant_sentence_beside_its_setting(
    administrator: User,
) -> None:
    data = {
        "name": "z", "status": "paused", "trigger_type": "individual",
        "config__individual__stock_codes": "2330\n2330.TW", "post_type": "analysis", "post_length": "medium",
        "allocation_strategy": "round_robin", "posts_per_run": 1, "max_posts_per_day": 3, "post_times": "08:30",
        "days_rule": "trading_days", "missed_run_policy": "skip", "missed_run_grace_minutes": 30,
        "auto_approve_min_quality": 0.8,
    }  # fmt: skip
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hant")
    client.force_login(administrator)
    with translation.override("zh-hant"):
        html = client.post(reverse("admin:scheduling_schedule_add"), data).content.decode()
    assert "「股票代號」有一項格式不對：2330.TW。" in html and "does not match" not in html
    assert "2330\n2330.TW" in html  # what was typed stays
    assert not Schedule.objects.exists()
