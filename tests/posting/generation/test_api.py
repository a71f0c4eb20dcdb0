"""The batch API: start (validated, field-level 400s), poll, cancel, and the server-sent event stream."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any, cast

import httpx
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from config.asgi import application
from kols.tokens import api_token_create
from posting.generation.batches import batch_cancel, batch_create, batch_wake
from posting.generation.runner import batch_run
from posting.models import BatchItem, GenerationBatch
from tests.conftest import ON_POSTGRES
from tests.factories import default_compliance_rules
from tests.posting.batch_setup import (
    RoutedLLM,
    default_queue_purge,
    kols,
    ok_answer,
    prompt_templates_seed,
    server_error,
    stock_with_quotes,
)

Status = GenerationBatch.Status


@pytest.fixture(autouse=True)
def _llm(settings: Any) -> None:
    settings.LLM_BASE_URL, settings.LLM_API_KEY, settings.LLM_MODEL = "http://llm.test/v1", "k", "test-model"
    settings.GENERATION_CONCURRENCY = 2 if ON_POSTGRES else 1
    settings.GENERATION_EVENTS_POLL_SECONDS = 0.05
    settings.GENERATION_RETRY_BACKOFF_SECONDS = 0


def _body(**changes: Any) -> dict[str, Any]:
    stock_with_quotes("2330")
    stock_with_quotes("2317")
    body: dict[str, Any] = {
        "kol_ids": [kol.pk for kol in kols(2)],
        "stock_codes": ["2330", "2317.TW"],
        "post_type": "analysis",
        "trigger_reasons": ["盤後追蹤"],
    }
    body.update(changes)
    return body


# --- Starting ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_writer_starts_a_batch_of_every_kol_with_every_stock(
    api_as: Any, writer: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api_as(writer).post("/api/batches/", _body(), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert response["Location"] == f"/api/batches/{data['id']}/"
    assert (data["status"], data["source"], data["writer"], data["requested_by"]) == (
        "queued",
        "api",
        "llm",
        "writer",
    )
    assert data["progress"] == {
        "done": 0,
        "total": 4,
        "percent": 0,
        "succeeded": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert data["events_url"] == f"/api/batches/{data['id']}/events"
    assert len(queued) == 1
    items = BatchItem.objects.filter(batch_id=data["id"])
    assert sorted(items.values_list("stock__code", flat=True)) == ["2317", "2317", "2330", "2330"]
    assert {tuple(reasons) for reasons in items.values_list("trigger_reasons", flat=True)} == {("盤後追蹤",)}


@pytest.mark.django_db
def test_explicit_items_carry_their_own_trigger(
    api_as: Any, reviewer: User, django_capture_on_commit_callbacks: Any
) -> None:
    stock_with_quotes("2330")
    kol = kols(1)[0]
    items = [
        {
            "kol_id": kol.pk,
            "stock_code": "2330",
            "trigger_type": "volume_surge",
            "trigger_reasons": ["量增3倍"],
        }
    ]
    with django_capture_on_commit_callbacks(execute=False):
        response = api_as(reviewer).post(
            "/api/batches/", {"items": items, "post_type": "question", "writer": "template"}, format="json"
        )

    assert response.status_code == 201, response.json()
    item = BatchItem.objects.get(batch_id=response.json()["id"])
    assert (item.trigger_type, item.trigger_reasons, item.batch.writer) == (
        "volume_surge",
        ["量增3倍"],
        "template",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kol_ids": [999999]}, "kol_ids"),
        ({"stock_codes": ["9999"]}, "stock_codes"),
        ({"stock_codes": ["台積電"]}, "stock_codes"),
        ({"post_type": "essay"}, "post_type"),
        ({"length": "epic"}, "length"),
        ({"kol_ids": []}, "kol_ids"),
        ({"items": [{"kol_id": 1, "stock_code": "2330"}]}, "items"),
        ({"trigger_reasons": "not a list"}, "trigger_reasons"),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_a_400_naming_the_field(
    changes: dict[str, Any], field: str, api_as: Any, writer: User
) -> None:
    response = api_as(writer).post("/api/batches/", _body(**changes), format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    assert not GenerationBatch.objects.exists()


@pytest.mark.django_db
def test_too_many_drafts_and_an_llm_that_is_not_configured_are_field_errors(
    api_as: Any, writer: User, settings: Any
) -> None:
    settings.GENERATION_MAX_BATCH_ITEMS = 3
    response = api_as(writer).post("/api/batches/", _body(), format="json")
    assert response.status_code == 400 and "stock_codes" in response.json()["error"]["fields"]

    settings.GENERATION_MAX_BATCH_ITEMS = 500
    settings.LLM_BASE_URL = ""
    response = api_as(writer).post("/api/batches/", _body(writer="llm"), format="json")
    assert response.status_code == 400 and "writer" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_starting_needs_a_login_and_the_permission(api: Any, api_as: Any) -> None:
    assert api.post("/api/batches/", {}, format="json").status_code == 401
    nobody = User.objects.create_user("nobody", is_staff=True)
    response = api_as(nobody).post("/api/batches/", _body(), format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert api_as(nobody).get("/api/batches/").status_code == 403


# --- Polling and cancelling -------------------------------------------------------------------------


@pytest.mark.django_db
def test_polling_shows_progress_and_every_item_in_a_fixed_number_of_queries(
    api_as: Any, writer: User, django_assert_num_queries: Any
) -> None:
    stock_with_quotes("2330")
    batch = batch_create(
        source="api",
        items=[{"kol_id": kol.pk, "stock_code": "2330"} for kol in kols(5)],
        post_type="analysis",
    )
    BatchItem.objects.filter(batch=batch, position=1).update(status="failed", error="LLM 500")
    GenerationBatch.objects.filter(pk=batch.pk).update(failed_count=1, status="running")
    client = api_as(writer)
    client.get(f"/api/batches/{batch.pk}")  # warm the permission cache

    with django_assert_num_queries(2):
        response = client.get(f"/api/batches/{batch.pk}")

    data = response.json()
    assert response.status_code == 200
    assert data["progress"] == {
        "done": 1,
        "total": 5,
        "percent": 20,
        "succeeded": 0,
        "failed": 1,
        "cancelled": 0,
    }
    assert [item["status"] for item in data["items"]] == [
        "failed",
        "pending",
        "pending",
        "pending",
        "pending",
    ]
    assert data["items"][0]["error"] == "LLM 500" and data["items"][0]["stock_code"] == "2330"
    assert client.get("/api/batches/?status=running").json()["count"] == 1


@pytest.mark.django_db
def test_cancel_through_the_api_then_a_second_cancel_is_a_conflict(api_as: Any, writer: User) -> None:
    stock_with_quotes("2330")
    batch = batch_create(
        source="api", items=[{"kol_id": kols(1)[0].pk, "stock_code": "2330"}], post_type="analysis"
    )
    client = api_as(writer)

    response = client.post(f"/api/batches/{batch.pk}/cancel", format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["progress"]["percent"] == 100
    again = client.post(f"/api/batches/{batch.pk}/cancel/", format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "batch_not_running"


# --- Server-sent events -----------------------------------------------------------------------------


def parse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


@pytest.fixture
def sse_db(transactional_db: None) -> Iterator[None]:
    prompt_templates_seed()
    default_compliance_rules()
    yield
    default_queue_purge()


def _token(user: User) -> dict[str, str]:
    return {"Authorization": f"Token {api_token_create(user=user, name='test')[1]}"}


async def _stream(path: str, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=cast(Any, application))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path, headers=headers, timeout=30)


# SQLite's shared in-memory test database locks whole tables between the stream's and the runner's
# connections; a file database (the laptop default) waits instead, PostgreSQL never blocks readers.
@pytest.mark.postgres
@pytest.mark.usefixtures("sse_db")
def test_the_event_stream_reports_a_running_batch_in_order_and_ends_with_it(writer: User) -> None:
    codes = ["2330", "2317", "2454"]
    for code in codes:
        stock_with_quotes(code)
    items = [{"kol_id": kol.pk, "stock_code": code} for kol, code in zip(kols(3), codes, strict=True)]
    batch = batch_create(source="api", items=items, post_type="analysis")
    token = batch_wake(batch_id=batch.pk)
    assert token is not None
    llm = RoutedLLM(lambda code, _n: server_error(code) if code == "2454" else ok_answer(code))
    started = threading.Event()
    headers = _token(writer)

    def run_batch() -> None:
        started.wait(10)
        try:
            batch_run(batch_id=batch.pk, token=token, client=llm.client())
        finally:
            connection.close()  # this thread's own connection

    async def follow() -> httpx.Response:
        request = asyncio.create_task(_stream(f"/api/batches/{batch.pk}/events", headers))
        await asyncio.sleep(0.3)  # the stream is open and has sent batch_start before the batch runs
        started.set()
        return await request

    runner = threading.Thread(target=run_batch)
    runner.start()
    try:
        response = asyncio.run(follow())
    finally:
        started.set()
        runner.join(30)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_events(response.text)
    names = [name for name, _data in events]
    assert names[0] == "batch_start" and names[-1] == "batch_end"
    assert names.count("batch_start") == names.count("batch_end") == 1
    assert events[0][1]["total"] == 3 and events[0][1]["status"] == "queued"
    assert events[0][1]["created_at"].endswith("+08:00")  # shown in Asia/Taipei, like the rest of the API
    assert events[-1][1]["finished_at"].endswith("+08:00")
    done = {data["stock"]: data for name, data in events if name == "item_done"}
    failed = {data["stock"]: data for name, data in events if name == "item_failed"}
    assert set(done) == {"2330", "2317"} and set(failed) == {"2454"}
    items_by_stock = {
        item.stock.code: item
        for item in BatchItem.objects.filter(batch=batch).select_related("stock")
        if item.stock is not None
    }
    assert all(done[code]["post_id"] == str(items_by_stock[code].post_id) for code in done)
    assert "500" in failed["2454"]["error"] and failed["2454"]["attempts"] == 3
    progress = [data for name, data in events if name == "progress"]
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    assert progress[0]["done"] == 0 and len(progress) >= 2
    assert progress[-1] == {
        "done": 3,
        "total": 3,
        "percent": 100,
        "succeeded": 2,
        "failed": 1,
        "cancelled": 0,
    }
    assert names.index("progress", names.index("item_failed")) < names.index("batch_end")
    assert events[-1][1]["status"] == "finished"


@pytest.mark.usefixtures("sse_db")
def test_a_finished_batch_replays_its_whole_story_to_a_late_subscriber(writer: User) -> None:
    stock_with_quotes("2330")
    batch = batch_create(
        source="api", items=[{"kol_id": kols(1)[0].pk, "stock_code": "2330"}], post_type="analysis"
    )
    batch_cancel(batch=batch, by=writer)

    response = asyncio.run(_stream(f"/api/batches/{batch.pk}/events", _token(writer)))

    assert [name for name, _data in parse_events(response.text)] == ["batch_start", "progress", "batch_end"]
    assert parse_events(response.text)[-1][1]["status"] == "cancelled"


@pytest.mark.usefixtures("sse_db")
def test_the_event_stream_needs_a_login_and_the_permission_like_every_endpoint(writer: User) -> None:
    stock_with_quotes("2330")
    batch = batch_create(
        source="api", items=[{"kol_id": kols(1)[0].pk, "stock_code": "2330"}], post_type="analysis"
    )
    path = f"/api/batches/{batch.pk}/events"
    nobody = User.objects.create_user("nobody", is_staff=True)

    anonymous = asyncio.run(_stream(path, {}))
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Token"
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert asyncio.run(_stream(path, {"Authorization": "Token wrong"})).status_code == 401
    assert asyncio.run(_stream(path, _token(nobody))).status_code == 403
    assert asyncio.run(_stream("/api/batches/999999/events", _token(writer))).status_code == 404


@pytest.mark.usefixtures("sse_db")
def test_the_event_stream_follows_the_session_of_a_logged_in_admin_page(writer: User) -> None:
    stock_with_quotes("2330")
    batch = batch_create(
        source="api", items=[{"kol_id": kols(1)[0].pk, "stock_code": "2330"}], post_type="analysis"
    )
    batch_cancel(batch=batch, by=writer)
    browser = Client()
    browser.force_login(writer)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"

    response = asyncio.run(_stream(f"/api/batches/{batch.pk}/events", {"Cookie": cookie}))
    assert response.status_code == 200 and "batch_end" in response.text


@pytest.mark.usefixtures("sse_db")
def test_the_event_stream_stops_when_the_client_disconnects(writer: User) -> None:
    stock_with_quotes("2330")
    batch = batch_create(
        source="api", items=[{"kol_id": kols(1)[0].pk, "stock_code": "2330"}], post_type="analysis"
    )
    key = api_token_create(user=writer, name="test")[1]
    sent: list[Mapping[str, Any]] = []
    received: list[str] = []
    first_body = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not received:
            received.append("http.request")
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_body.wait()  # the client leaves once the first event arrived
        received.append("http.disconnect")
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_body.set()

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": f"/api/batches/{batch.pk}/events", "raw_path": f"/api/batches/{batch.pk}/events".encode(),
        "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver"), (b"authorization", f"Token {key}".encode())],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip

    # The batch never runs, so only the disconnect can end the stream.
    asyncio.run(asyncio.wait_for(application(scope, receive, send), timeout=10))

    assert sent[0]["status"] == 200
    bodies = b"".join(message.get("body", b"") for message in sent[1:]).decode()
    assert bodies.startswith("event: batch_start") and "batch_end" not in bodies
