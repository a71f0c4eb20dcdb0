"""No server error for any input: each of these once answered 500 (issue 10, item 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.factories import GenerationBatchFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def su_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("su"))
    return client


def _error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    if field is not None:
        assert field in error["fields"], error
    return dict(error)


@pytest.mark.parametrize("method", ["options", "put", "delete", "patch"])
def test_unsupported_methods_on_triggers_are_405(su_client: Client, method: str) -> None:
    _error(getattr(su_client, method)("/api/triggers/"), 405)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("due_after=2026-01-01T00:00:00%2B25:00", "due"),
        ("due_after=2026-01-01T00:00:00-24:00", "due"),
        ("due_after=0001-01-01T00:00:00%2B08:00", "due"),
        ("due_before=9999-12-31T23:59:59-08:00", "due"),
    ],
)
def test_out_of_range_times_in_the_publications_filter_are_400(
    su_client: Client, query: str, field: str
) -> None:
    _error(su_client.get(f"/api/publications/?{query}"), 400, field)


def test_an_offset_postgresql_cannot_store_is_queried_in_utc(su_client: Client) -> None:
    assert su_client.get("/api/publications/?due_after=2026-01-01T00:00:00%2B23:59:59").status_code == 200


@pytest.mark.parametrize("query", ["created_before=9999-12-31", "created_after=0001-01-01"])
def test_out_of_range_dates_in_the_posts_filter_are_400(su_client: Client, query: str) -> None:
    _error(su_client.get(f"/api/posts/?{query}"), 400, "created")


def test_a_far_date_for_daily_stats_is_400(su_client: Client) -> None:
    _error(su_client.get("/api/schedules/daily-stats/?date=9999-12-31"), 400, "date")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"trigger_type": "top_gainers", "config": {"limit": "a\\u0000b"}}', "config.limit"),
        ('{"trigger_type": "top_gainers", "config": {"x": "\\ud800"}}', "config.x"),
        ('{"trigger_type": "top_gainers", "config": {"\\u0000": 1}}', "config.\x00"),
    ],
)
def test_nul_and_lone_surrogates_in_json_are_400_naming_the_field(
    su_client: Client, raw: str, field: str
) -> None:
    _error(su_client.post("/api/triggers/preview/", raw, content_type="application/json"), 400, field)


def test_nul_in_a_schedule_config_is_400(su_client: Client) -> None:
    schedule = ScheduleFactory()
    raw = '{"trigger_config": {"limit": "\\u0000"}}'
    answer = su_client.patch(f"/api/schedules/{schedule.pk}/", raw, content_type="application/json")
    _error(answer, 400, "trigger_config.limit")


def test_a_body_over_the_limit_is_413(su_client: Client, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 2048
    raw = json.dumps({"trigger_type": "top_gainers", "config": {}, "pad": "x" * 4096})
    error = _error(su_client.post("/api/triggers/preview/", raw, content_type="application/json"), 413)
    assert error["code"] == "request_too_large" and "2048" in error["message"]


@pytest.mark.parametrize("depth", [100, 100_000])
def test_json_nested_deeply_is_400(su_client: Client, depth: int) -> None:
    raw = "[" * depth + "]" * depth
    _error(su_client.post("/api/triggers/preview/", raw, content_type="application/json"), 400)


def test_unknown_api_urls_answer_json_even_with_debug_on(client: Client, settings: Any) -> None:
    settings.DEBUG = True
    assert _error(client.get("/api/no/such/thing/"), 404)["code"] == "not_found"


def test_posting_to_the_batch_event_stream_is_405_not_a_csrf_page() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("su"))
    batch = GenerationBatchFactory()
    _error(client.post(f"/api/batches/{batch.pk}/events", {}), 405)


def test_the_schema_answers_401_in_json(client: Client) -> None:
    assert _error(client.get("/api/schema/"), 401)["code"] == "not_authenticated"


def test_a_schedule_description_over_the_limit_is_400(su_client: Client, settings: Any) -> None:
    settings.DESCRIPTION_MAX_CHARS = 50
    schedule = ScheduleFactory()
    answer = su_client.patch(
        f"/api/schedules/{schedule.pk}/", {"description": "說" * 51}, content_type="application/json"
    )
    assert "51" in _error(answer, 400, "description")["fields"]["description"][0]
