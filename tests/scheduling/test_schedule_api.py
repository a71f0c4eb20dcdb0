"""/api/schedules/ and /api/triggers/: validation naming the key, permissions, run, preview, stats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from posting.models import GenerationBatch, Post
from scheduling.dispatch import schedule_run_now
from scheduling.models import Schedule, ScheduleRun
from scheduling.services import scheduler_pause
from scheduling.trigger_types import CONFIG_SCHEMAS, TriggerType
from tests.factories import ScheduleFactory
from tests.scheduling.schedule_setup import active_schedule, kols, market_day, taipei

pytestmark = pytest.mark.django_db

URL = "/api/schedules/"
MONDAY_0900 = taipei(2026, 11, 23, 9, 0)


@pytest.fixture(autouse=True)
def _english(api: Any) -> Iterator[None]:
    # The messages asserted below are the English source; the shipped default language is zh-hant.
    api.credentials(HTTP_ACCEPT_LANGUAGE="en")
    with translation.override("en"):
        yield


def _body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "盤後強勢股",
        "trigger_type": "top_gainers",
        "trigger_config": {"limit": 5},
        "post_times": ["14:30", "20:00"],
        "days_rule": "trading_days",
        "posts_per_run": 2,
        "max_posts_per_day": 4,
        **overrides,
    }


def _writes(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


# --- CRUD and validation ----------------------------------------------------------------------------


def test_an_administrator_creates_an_active_schedule_and_gets_its_next_run(
    api_as: Any, administrator: User
) -> None:
    pool = kols(2)
    with time_machine.travel(MONDAY_0900, tick=False):
        response = api_as(administrator).post(
            URL, _body(status="active", kol_pool=[kol.pk for kol in pool]), format="json"
        )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["next_run_at"] == "2026-11-23T14:30:00+08:00"
    assert sorted(data["kol_pool"]) == sorted(kol.pk for kol in pool)
    assert (data["runs_today"], data["posts_today"], data["post_type"]) == (0, 0, "analysis")


@pytest.mark.parametrize(
    ("config", "key"),
    [({"limit": 500}, "limit"), ({"limt": 5}, "limt"), ({"limit": "ten"}, "limit")],
)
def test_a_bad_trigger_config_is_a_field_error_under_trigger_config_naming_the_key(
    api_as: Any, administrator: User, config: dict[str, Any], key: str
) -> None:
    response = api_as(administrator).post(URL, _body(trigger_config=config), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(message.startswith(f"{key}:") for message in error["fields"]["trigger_config"])
    assert not Schedule.objects.exists()


def test_a_missing_required_config_key_is_named(api_as: Any, administrator: User) -> None:
    response = api_as(administrator).post(
        URL, _body(trigger_type="individual", trigger_config={}), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["trigger_config"] == ["stock_codes: Stock codes is required."]


def test_the_custom_trigger_checks_its_ranges_too(api_as: Any, administrator: User) -> None:
    config = {"price": {"min": 50, "max": 10}}
    response = api_as(administrator).post(
        URL, _body(trigger_type="custom", trigger_config=config), format="json"
    )
    assert response.status_code == 400
    assert "price" in response.json()["error"]["fields"]["trigger_config"][0]


@pytest.mark.parametrize("times", [["9:30"], ["14:30", "14:30"], [], ["25:00"]])
def test_bad_post_times_are_a_field_error(api_as: Any, administrator: User, times: list[str]) -> None:
    response = api_as(administrator).post(URL, _body(post_times=times), format="json")
    assert response.status_code == 400
    assert "post_times" in response.json()["error"]["fields"]


def test_an_unknown_kol_and_an_empty_pool_for_an_active_schedule_are_refused_on_the_pool(
    api_as: Any, administrator: User
) -> None:
    client = api_as(administrator)
    unknown = client.post(URL, _body(kol_pool=[987654]), format="json")
    assert unknown.status_code == 400 and "987654" in unknown.json()["error"]["fields"]["kol_pool"][0]
    empty = client.post(URL, _body(status="active", kol_pool=[]), format="json")
    assert empty.status_code == 400 and "kol_pool" in empty.json()["error"]["fields"]


def test_a_run_bigger_than_the_daily_cap_is_refused(api_as: Any, administrator: User) -> None:
    response = api_as(administrator).post(URL, _body(posts_per_run=5, max_posts_per_day=3), format="json")
    assert response.status_code == 400
    assert "max_posts_per_day" in response.json()["error"]["fields"]


def test_changing_the_post_times_moves_the_next_run(api_as: Any, administrator: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    with time_machine.travel(taipei(2026, 11, 23, 10, 0), tick=False):
        response = api_as(administrator).patch(
            f"{URL}{schedule.pk}/", {"post_times": ["11:00"]}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["next_run_at"] == "2026-11-23T11:00:00+08:00"


def test_a_patch_cannot_write_the_counters(api_as: Any, administrator: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    response = api_as(administrator).patch(
        f"{URL}{schedule.pk}/", {"runs_count": 99, "next_run_at": None}, format="json"
    )
    assert response.status_code == 200
    schedule.refresh_from_db()
    assert schedule.runs_count == 0 and schedule.next_run_at is not None


def test_pause_and_resume_endpoints(api_as: Any, administrator: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    client = api_as(administrator)
    assert client.post(f"{URL}{schedule.pk}/pause/").json()["status"] == "paused"
    assert client.post(f"{URL}{schedule.pk}/resume/").json()["next_run_at"] is not None


def test_deleting_a_schedule_keeps_its_drafts(api_as: Any, administrator: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    market_day()
    with time_machine.travel(taipei(2026, 11, 23, 14, 30), tick=False):
        run = api_as(administrator).post(f"{URL}{schedule.pk}/run/").json()
    assert api_as(administrator).delete(f"{URL}{schedule.pk}/").status_code == 204
    assert not ScheduleRun.objects.exists()
    assert GenerationBatch.objects.filter(pk=run["batch"]).exists()


# --- Permissions and queries ------------------------------------------------------------------------


def test_a_reviewer_reads_schedules_but_may_not_change_or_run_them(api_as: Any, reviewer: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    client = api_as(reviewer)
    assert client.get(URL).status_code == 200
    assert client.post(URL, _body(), format="json").status_code == 403
    assert client.post(f"{URL}{schedule.pk}/run/").status_code == 403
    assert client.post(f"{URL}{schedule.pk}/pause/").status_code == 403
    assert not ScheduleRun.objects.exists()


def test_anonymous_callers_get_401(api: Any) -> None:
    assert api.get(URL).status_code == 401
    assert api.get("/api/triggers/").status_code == 401


def test_the_list_takes_the_same_queries_for_3_or_20_schedules(
    api_as: Any, administrator: User, django_assert_max_num_queries: Any
) -> None:
    client = api_as(administrator)
    ScheduleFactory.create_batch(3)
    with django_assert_max_num_queries(10) as few:
        assert client.get(URL).status_code == 200
    ScheduleFactory.create_batch(17)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(URL).json()["results"]) == 20


# --- Run now, preview, daily stats ------------------------------------------------------------------


def test_run_now_starts_a_manual_run_through_the_same_service(api_as: Any, administrator: User) -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900)
    with time_machine.travel(taipei(2026, 11, 23, 10, 15), tick=False):
        response = api_as(administrator).post(f"{URL}{schedule.pk}/run/")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["slot"].startswith("manual-2026-11-23T10:15") and data["kind"] == "manual"
    assert data["status"] == "running" and data["batch"] is not None and len(data["assignments"]) == 2
    assert ScheduleRun.objects.get().requested_by == administrator


def test_run_now_under_the_global_pause_is_a_409_with_a_sentence(api_as: Any, administrator: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    scheduler_pause()
    response = api_as(administrator).post(f"{URL}{schedule.pk}/run/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "scheduling_paused"


def test_preview_shows_candidates_and_assignments_and_writes_nothing(api_as: Any, reviewer: User) -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900)
    client = api_as(reviewer)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{URL}{schedule.pk}/preview/")
    assert response.status_code == 200
    data = response.json()
    assert [item["key"] for item in data["trigger"]["candidates"]] == [
        "stock:2330",
        "stock:2317",
        "stock:2454",
    ]
    assert len(data["allocation"]["assignments"]) == 2 and data["max_assignments"] == 2
    assert _writes(captured) == []
    assert (
        not ScheduleRun.objects.exists()
        and not GenerationBatch.objects.exists()
        and not Post.objects.exists()
    )


def test_preview_of_a_trigger_without_data_is_an_error_naming_it(api_as: Any, reviewer: User) -> None:
    schedule = active_schedule(MONDAY_0900, trigger_type="top_gainers", trigger_config={"limit": 3})
    response = api_as(reviewer).get(f"{URL}{schedule.pk}/preview/")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "trigger_data_missing"


def test_daily_stats_count_todays_runs_posts_and_skips_by_reason(api_as: Any, reviewer: User) -> None:
    market_day()
    schedule = active_schedule(MONDAY_0900, max_posts_per_day=2)
    idle = active_schedule(MONDAY_0900, name="idle")
    for hour in (10, 11):
        with time_machine.travel(taipei(2026, 11, 23, hour, 0), tick=False):
            schedule_run_now(schedule=schedule)
    with time_machine.travel(taipei(2026, 11, 23, 18, 0), tick=False):
        response = api_as(reviewer).get(f"{URL}daily-stats/")
    assert response.status_code == 200
    data = response.json()
    assert data["date"] == "2026-11-23" and data["paused_globally"] is False
    stats = {row["name"]: row for row in data["schedules"]}
    assert stats[schedule.name]["runs"] == 1 and stats[schedule.name]["skipped"] == 1
    assert stats[schedule.name]["skipped_reasons"] == {"daily_cap": 1}
    assert stats[idle.name]["runs"] == 0
    yesterday = api_as(reviewer).get(f"{URL}daily-stats/", {"date": "2026-11-22"}).json()
    assert all(row["runs"] == 0 for row in yesterday["schedules"])
    assert api_as(reviewer).get(f"{URL}daily-stats/", {"date": "yesterday"}).status_code == 400


def test_the_run_history_of_a_schedule(api_as: Any, reviewer: User) -> None:
    schedule = active_schedule(MONDAY_0900)
    ScheduleRun.objects.create(
        schedule=schedule, slot="2026-11-23T14:30+08:00", slot_at=taipei(2026, 11, 23, 14, 30),
        started_at=taipei(2026, 11, 23, 14, 30), status="skipped", skip_reason="no_candidates", message="nothing",
    )  # fmt: skip
    response = api_as(reviewer).get(f"{URL}{schedule.pk}/runs/")
    assert response.status_code == 200
    assert [(row["slot"], row["skip_reason"]) for row in response.json()["results"]] == [
        ("2026-11-23T14:30+08:00", "no_candidates")
    ]


# --- Triggers ---------------------------------------------------------------------------------------


def test_trigger_types_are_listed_with_their_config_schema(api_as: Any, reviewer: User) -> None:
    response = api_as(reviewer).get("/api/triggers/")
    assert response.status_code == 200
    listed = {row["type"]: row for row in response.json()}
    assert set(listed) == set(TriggerType.values)
    assert listed["limit_up"]["config_schema"] == CONFIG_SCHEMAS["limit_up"]
    assert listed["limit_up"]["label"] == "Limit up"


def test_trigger_preview_returns_ranked_candidates_and_writes_nothing(api_as: Any, reviewer: User) -> None:
    market_day()
    with CaptureQueriesContext(connection) as captured:
        response = api_as(reviewer).post(
            "/api/triggers/preview/", {"trigger_type": "top_gainers", "config": {"limit": 2}}, format="json"
        )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert [item["stock"]["code"] for item in data["candidates"]] == ["2330", "2317"]
    assert data["as_of"] == "2026-11-20" and data["candidates"][0]["reasons"]
    assert _writes(captured) == []


def test_trigger_preview_names_the_bad_config_key(api_as: Any, reviewer: User) -> None:
    response = api_as(reviewer).post(
        "/api/triggers/preview/", {"trigger_type": "limit_up", "config": {"threshold_pct": 30}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["config"][0].startswith("threshold_pct:")
    unknown = api_as(reviewer).post("/api/triggers/preview/", {"trigger_type": "moon_phase"}, format="json")
    assert unknown.status_code == 400 and "trigger_type" in unknown.json()["error"]["fields"]


def test_the_openapi_schema_describes_the_schedule_endpoints(api_as: Any, reviewer: User) -> None:
    paths = api_as(reviewer).get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {
        "/api/schedules/",
        "/api/schedules/{id}/run/",
        "/api/schedules/{id}/preview/",
        "/api/schedules/daily-stats/",
        "/api/triggers/",
        "/api/triggers/preview/",
    } <= set(paths)
