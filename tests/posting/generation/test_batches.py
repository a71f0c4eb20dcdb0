"""Batches: starting (validated), running (threads, retries, outcomes), cancelling, taking over.

Runner tests are transactional: the lanes are threads with their own database connections. SQLite's
shared in-memory test database locks whole tables between connections, so there they run one lane.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.utils import timezone

from config.exceptions import ConflictError, ServiceError
from kols.models import KOL, PromptTemplate
from posting.generation.batches import (
    batch_cancel,
    batch_create,
    batch_start,
    batch_wake,
    batches_sweep,
    runner_acquire,
)
from posting.generation.items import ItemLost, item_record_failure
from posting.generation.runner import batch_run, item_claim, item_record_success
from posting.models import Approval, BatchItem, GenerationBatch, Post
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
from tests.posting.fake_llm import error

Status = GenerationBatch.Status
ItemStatus = BatchItem.Status
LANES = 4 if ON_POSTGRES else 1


@pytest.fixture(autouse=True)
def _seeded(settings: Any) -> None:
    settings.GENERATION_CONCURRENCY = LANES
    settings.GENERATION_RETRY_BACKOFF_SECONDS = 0
    # An LLM is configured; the runner tests inject its transport (RoutedLLM) at the HTTP boundary.
    settings.LLM_BASE_URL, settings.LLM_API_KEY, settings.LLM_MODEL = "http://llm.test/v1", "k", "test-model"


def _items(writers: list[KOL], codes: list[str]) -> list[dict[str, Any]]:
    return [
        {"kol_id": kol.pk, "stock_code": code, "trigger_reasons": ["測試"]}
        for kol in writers
        for code in codes
    ]


def _batch(codes: list[str], *, writers: int = 1, writer: str = "llm", **fields: Any) -> GenerationBatch:
    for code in codes:
        stock_with_quotes(code)
    return batch_create(
        source="manual", items=_items(kols(writers), codes), post_type="analysis", writer=writer, **fields
    )


def _run(batch: GenerationBatch, client: Any = None) -> dict[str, Any]:
    token = batch_wake(batch_id=batch.pk)
    assert token is not None
    return batch_run(batch_id=batch.pk, token=token, client=client).as_dict()


def _outcomes(batch: GenerationBatch) -> dict[str, str]:
    return {
        item.stock.code if item.stock else item.topic: item.status
        for item in BatchItem.objects.filter(batch=batch).select_related("stock")
    }


# --- Starting ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_starting_a_batch_creates_its_items_and_queues_its_task_after_commit(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    prompt_templates_seed()
    stock_with_quotes("2330")
    stock_with_quotes("2317")
    writers = kols(2)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        batch = batch_start(source="api", items=_items(writers, ["2330", "2317"]), post_type="question")

    assert len(queued) == 1
    assert (batch.status, batch.writer, batch.requested_count) == (Status.QUEUED, "llm", 4)
    assert batch.runner_token and batch.runner_deadline is not None and batch.runner_started_at is None
    items = list(BatchItem.objects.filter(batch=batch).order_by("position"))
    assert [item.position for item in items] == [1, 2, 3, 4]
    assert {item.status for item in items} == {ItemStatus.PENDING}
    assert items[0].trigger_reasons == ["測試"]


@pytest.mark.django_db
def test_a_schedule_starts_a_batch_with_stock_ids_and_topics(settings: Any) -> None:
    settings.LLM_BASE_URL = ""
    stock = stock_with_quotes("2330")
    writer = kols(1)[0]
    items: list[dict[str, Any]] = [
        {"kol_id": writer.pk, "stock_id": stock.pk, "topic": "", "trigger_type": "individual", "trigger_key": "2330",
         "trigger_reasons": ["個股追蹤"]},
        {"kol_id": writer.pk, "stock_id": None, "topic": "升息循環", "trigger_type": "macro", "trigger_key": "升息循環",
         "trigger_reasons": []},
    ]  # fmt: skip
    batch = batch_create(
        source="schedule", source_ref="schedule:1:2026-11-20T14:30", items=items, post_type="analysis"
    )

    assert batch.writer == "template"
    assert list(BatchItem.objects.filter(batch=batch).values_list("stock__code", "topic")) == [
        ("2330", ""),
        (None, "升息循環"),
    ]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"items": []}, "items", ""),
        ({"post_type": "essay"}, "post_type", "essay"),
        ({"length": "epic"}, "length", "epic"),
        ({"items": [{"kol_id": 999999, "stock_code": "2330"}]}, "items", "999999"),
        ({"items": "unknown-stock"}, "items", "9999"),
        ({"items": "paused"}, "items", "測試達人"),
        ({"items": [{"kol_id": None, "stock_code": ""}]}, "items", "1"),
        ({"writer": "poet"}, "writer", "poet"),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_refused_with_the_field_named(change: dict[str, Any], field: str, words: str) -> None:
    stock_with_quotes("2330")
    writer = kols(1)[0]
    arguments: dict[str, Any] = {
        "source": "api",
        "items": _items([writer], ["2330"]),
        "post_type": "analysis",
    }
    arguments.update(change)
    if arguments["items"] == "unknown-stock":
        arguments["items"] = [{"kol_id": writer.pk, "stock_code": "9999"}]
    if arguments["items"] == "paused":
        KOL.objects.filter(pk=writer.pk).update(status=KOL.Status.PAUSED)
        arguments["items"] = _items([writer], ["2330"])
    with pytest.raises(ServiceError) as refused:
        batch_create(**arguments)

    assert field in refused.value.fields
    assert words in refused.value.message
    assert not GenerationBatch.objects.exists()


@pytest.mark.django_db
def test_a_batch_larger_than_the_limit_is_refused(settings: Any) -> None:
    settings.GENERATION_MAX_BATCH_ITEMS = 2
    with pytest.raises(ServiceError) as refused:
        _batch(["2330", "2317", "2454"], writer="template")
    assert "items" in refused.value.fields and "3" in refused.value.message


@pytest.mark.django_db
def test_an_llm_batch_needs_an_active_prompt_template() -> None:

    PromptTemplate.objects.filter(post_type="question").update(is_active=False)
    with pytest.raises(ServiceError) as refused:
        batch_create(
            source="api", items=[{"kol_id": kols(1)[0].pk, "stock_code": "2330"}], post_type="question"
        )
    assert "post_type" in refused.value.fields


# --- Claims, outcomes and take-overs (no threads) ---------------------------------------------------


@pytest.mark.django_db
def test_a_task_runs_only_with_the_current_token_and_only_once() -> None:
    batch = _batch(["2330"], writer="template")
    first = batch_wake(batch_id=batch.pk)
    second = batch_wake(batch_id=batch.pk)
    assert first and second and first != second

    assert runner_acquire(batch_id=batch.pk, token=first) is False  # superseded
    assert runner_acquire(batch_id=batch.pk, token=second) is True
    assert runner_acquire(batch_id=batch.pk, token=second) is False  # a redelivery of the same message
    batch.refresh_from_db()
    assert batch.status == Status.RUNNING and batch.started_at is not None


@pytest.mark.django_db
def test_an_item_taken_over_mid_flight_records_nothing_and_creates_no_post() -> None:
    default_compliance_rules()
    batch = _batch(["2330"], writer="template")
    item = item_claim(batch_id=batch.pk)
    assert item is not None and item.status == ItemStatus.RUNNING and item.attempts == 1
    from posting.generation.drafting import DraftRequest, draft_generate

    draft = draft_generate(
        request=DraftRequest(kol=item.kol, stock=item.stock, post_type="analysis"), writer="template"
    )
    BatchItem.objects.filter(pk=item.pk).update(claim_token="someone-else")  # the sweeper gave it away

    with pytest.raises(ItemLost):
        item_record_success(item=item, draft=draft)
    assert not Post.objects.exists()
    batch.refresh_from_db()
    assert batch.succeeded_count == 0


@pytest.mark.django_db
def test_a_retryable_failure_waits_with_backoff_then_fails_after_the_last_attempt(settings: Any) -> None:
    settings.GENERATION_RETRY_BACKOFF_SECONDS = 10
    settings.GENERATION_ITEM_RETRIES = 1
    batch = _batch(["2330"], writer="template")
    now = timezone.now()

    item = item_claim(batch_id=batch.pk)
    assert item is not None
    assert (
        item_record_failure(item=item, message="429 請稍候", code="llm_rate_limited", retryable=True, now=now)
        == "retrying"
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING and item.next_attempt_at == now + dt.timedelta(seconds=10)
    assert item_claim(batch_id=batch.pk) is None  # not before its time

    BatchItem.objects.filter(pk=item.pk).update(next_attempt_at=now)
    item = item_claim(batch_id=batch.pk)
    assert item is not None and item.attempts == 2
    assert (
        item_record_failure(item=item, message="429 請稍候", code="llm_rate_limited", retryable=True)
        == "failed"
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.FAILED and item.error.endswith("429 請稍候") and "2" in item.error
    batch.refresh_from_db()
    assert batch.failed_count == 1


@pytest.mark.django_db
def test_the_sweeper_takes_over_a_batch_whose_task_died_and_requeues_its_running_items(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.GENERATION_ITEM_RETRIES = 1
    batch = _batch(["2330", "2317", "2454"], writer="template")
    token = batch_wake(batch_id=batch.pk)
    assert token and runner_acquire(batch_id=batch.pk, token=token)
    first, second = item_claim(batch_id=batch.pk), item_claim(batch_id=batch.pk)
    assert first and second
    BatchItem.objects.filter(pk=second.pk).update(attempts=2)  # its last attempt

    assert batches_sweep().taken_over == 0  # the lease is still running
    later = timezone.now() + dt.timedelta(seconds=settings.GENERATION_LEASE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        result = batches_sweep(now=later)

    assert (result.taken_over, result.reclaimed, result.failed, result.finished) == (1, 1, 1, 0)
    assert len(queued) == 1
    batch.refresh_from_db()
    assert batch.runner_token not in ("", token) and batch.runner_started_at is None
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ItemStatus.PENDING and first.error_code == "worker_lost"
    assert second.status == ItemStatus.FAILED and second.error_code == "worker_lost"
    assert runner_acquire(batch_id=batch.pk, token=token) is False  # the dead task's message, redelivered


@pytest.mark.django_db
def test_the_sweeper_resends_a_task_the_broker_lost(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    batch = _batch(["2330"], writer="template")
    batch_wake(batch_id=batch.pk)
    assert batches_sweep().taken_over == 0
    later = timezone.now() + dt.timedelta(seconds=settings.GENERATION_QUEUE_GRACE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert batches_sweep(now=later).taken_over == 1
    assert len(queued) == 1


@pytest.mark.django_db
def test_cancelling_cancels_pending_items_and_ends_a_batch_with_nothing_running(writer: Any) -> None:
    batch = _batch(["2330", "2317"], writer="template")
    batch = batch_cancel(batch=batch, by=writer)

    assert (batch.status, batch.cancelled_count) == (Status.CANCELLED, 2)
    assert batch.finished_at is not None and "writer" in batch.error_summary
    assert set(_outcomes(batch).values()) == {ItemStatus.CANCELLED}
    with pytest.raises(ConflictError):
        batch_cancel(batch=batch, by=writer)


# --- Running, with real threads ---------------------------------------------------------------------


@pytest.fixture
def runner_db(transactional_db: None) -> Iterator[None]:
    prompt_templates_seed()
    default_compliance_rules()
    yield
    default_queue_purge()


@pytest.mark.usefixtures("runner_db")
def test_a_batch_generates_every_draft_into_pending_review_and_checks_it() -> None:
    codes = ["2330", "2317", "2454", "2303", "2881", "2882"]
    batch = _batch(codes)
    llm = RoutedLLM()

    outcome = _run(batch, llm.client())

    assert outcome["finished"] is True and outcome["outcomes"] == {"succeeded": 6}
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (Status.FINISHED, 6, 0)
    assert batch.finished_at is not None and batch.runner_token == ""
    posts = list(Post.objects.filter(batch=batch))
    assert len(posts) == 6 and {post.stock.code for post in posts if post.stock} == set(codes)
    # Generation never approves or publishes.
    assert {post.status for post in posts} == {Post.Status.PENDING_REVIEW}
    assert not Approval.objects.exists()
    assert all(post.checked_at is not None and post.risk_level for post in posts)
    assert all(
        post.generator == Post.Generator.LLM and post.prompt_version == "analysis-v1" for post in posts
    )
    items = BatchItem.objects.filter(batch=batch)
    assert sorted(str(item.post_id) for item in items) == sorted(str(post.pk) for post in posts)
    assert dict(llm.calls) == dict.fromkeys(codes, 1)


@pytest.mark.usefixtures("runner_db")
def test_retryable_failures_are_retried_and_permanent_ones_fail_with_a_readable_error() -> None:
    def route(code: str, number: int) -> httpx.Response:
        if code == "2317" and number < 3:
            return error(429, "Rate limit reached for requests", headers={"retry-after": "0"})
        if code == "2454":
            return error(400, "This model's maximum context length is exceeded")
        if code == "2303":
            return server_error(code)
        return ok_answer(code)

    batch = _batch(["2330", "2317", "2454", "2303"])
    llm = RoutedLLM(route)
    outcome = _run(batch, llm.client())

    assert outcome["finished"] is True
    assert _outcomes(batch) == {"2330": "succeeded", "2317": "succeeded", "2454": "failed", "2303": "failed"}
    items = {
        item.stock.code: item
        for item in BatchItem.objects.filter(batch=batch).select_related("stock")
        if item.stock is not None
    }
    assert items["2317"].attempts == 3 and items["2317"].post_id is not None
    assert items["2454"].attempts == 1 and "maximum context length" in items["2454"].error
    assert items["2303"].attempts == 3 and items["2303"].error_code == "llm_server_error"
    assert "500" in items["2303"].error and "upstream overloaded while writing 2303" in items["2303"].error
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count, batch.failed_count) == (Status.FINISHED, 2, 2)
    assert "1 × " in batch.error_summary and "maximum context length" in batch.error_summary
    assert Post.objects.filter(batch=batch).count() == 2
    assert dict(llm.calls) == {"2330": 1, "2317": 3, "2454": 1, "2303": 3}


@pytest.mark.usefixtures("runner_db")
def test_when_the_llm_fails_no_template_text_takes_its_place() -> None:
    batch = _batch(["2330", "2317"])
    _run(batch, RoutedLLM(lambda code, _n: server_error(code)).client())

    batch.refresh_from_db()
    assert (batch.status, batch.failed_count) == (Status.FAILED, 2)
    assert not Post.objects.exists()
    assert all("500" in item.error for item in BatchItem.objects.filter(batch=batch))


@pytest.mark.usefixtures("runner_db")
def test_a_batch_without_an_llm_writes_template_drafts_marked_as_such(settings: Any) -> None:
    settings.LLM_BASE_URL = ""
    batch = _batch(["2330", "2317"], writer="")
    assert batch.writer == "template"
    _run(batch)

    posts = list(Post.objects.filter(batch=batch))
    assert len(posts) == 2
    assert {(post.generator, post.prompt_version, post.status) for post in posts} == {
        (Post.Generator.TEMPLATE, "template-v2", Post.Status.PENDING_REVIEW)
    }


@pytest.mark.usefixtures("runner_db")
def test_items_without_data_fail_with_what_was_missing_and_the_rest_succeed() -> None:
    stock_with_quotes("2330")
    writer = kols(1)[0]
    from tests.factories import StockFactory

    StockFactory(code="2303", name="聯電")  # no quotes
    items = [
        {"kol_id": writer.pk, "stock_code": "2330"},
        {"kol_id": writer.pk, "stock_code": "2303"},
        {"kol_id": writer.pk, "topic": "升息循環"},
    ]
    batch = batch_create(source="manual", items=items, post_type="analysis", writer="template")
    _run(batch)

    # The topic has the market's breadth (2330's quotes) to write from; 2303 has no data at all.
    assert _outcomes(batch) == {"2330": "succeeded", "2303": "failed", "升息循環": "succeeded"}
    errors = dict(BatchItem.objects.filter(batch=batch, status="failed").values_list("error_code", "error"))
    assert "2303" in errors["context_unavailable"]
    assert Post.objects.count() == 2


@pytest.mark.usefixtures("runner_db")
def test_cancelling_a_running_batch_lets_the_running_item_finish_and_cancels_the_rest(
    settings: Any, writer: Any
) -> None:
    settings.GENERATION_CONCURRENCY = 1
    batch = _batch(["2330", "2317", "2454"])

    def route(code: str, number: int) -> httpx.Response:
        batch_cancel(batch=GenerationBatch.objects.get(pk=batch.pk), by=writer)  # while item 1 is running
        return ok_answer(code)

    outcome = _run(batch, RoutedLLM(route).client())

    assert outcome["finished"] is True
    batch.refresh_from_db()
    assert (batch.status, batch.succeeded_count, batch.cancelled_count) == (Status.CANCELLED, 1, 2)
    assert batch.finished_at is not None
    assert sorted(_outcomes(batch).values()) == ["cancelled", "cancelled", "succeeded"]


@pytest.mark.usefixtures("runner_db")
def test_a_slice_that_runs_out_hands_the_rest_to_a_fresh_task(settings: Any) -> None:
    settings.GENERATION_SLICE_SECONDS = 0
    batch = _batch(["2330"], writer="template")
    token = batch_wake(batch_id=batch.pk)
    assert token is not None

    outcome = batch_run(batch_id=batch.pk, token=token)

    assert outcome.handed_over is True and outcome.outcomes == {}
    batch.refresh_from_db()
    assert batch.runner_token not in ("", token) and batch.finished_at is None
    settings.GENERATION_SLICE_SECONDS = 60
    assert batch_run(batch_id=batch.pk, token=batch.runner_token).finished is True


@pytest.mark.django_db
def test_with_the_llm_classifier_on_the_draft_is_classified_before_the_recording_transaction(
    settings: Any,
) -> None:
    """The classifier's LLM call happens where the draft is written (outside any transaction), never in
    the transaction that records the post: recording makes no LLM call and stores the earlier answer."""
    from posting.generation.drafting import DraftRequest, draft_generate
    from tests.posting.fake_llm import FakeLLMServer

    default_compliance_rules()
    batch = _batch(["2330"], writer="template")
    item = item_claim(batch_id=batch.pk)
    assert item is not None
    with FakeLLMServer(content='{"findings": []}') as server:
        settings.LLM_BASE_URL, settings.LLM_API_KEY, settings.LLM_MODEL = server.base_url, "sk-test", "m"
        settings.LLM_MAX_RETRIES = 0
        settings.COMPLIANCE_LLM_CLASSIFIER = True
        draft = draft_generate(
            request=DraftRequest(kol=item.kol, stock=item.stock, post_type="analysis"), writer="template"
        )
        assert len(server.requests) == 1 and not Post.objects.exists()
        assert draft.classifier_answer is not None and draft.classifier_answer.classification is not None

        post = item_record_success(item=item, draft=draft)

        assert len(server.requests) == 1
    assert post.check_summary["classifier"]["ran"] is True
    assert post.check_summary["classifier"]["calls"] == 1
