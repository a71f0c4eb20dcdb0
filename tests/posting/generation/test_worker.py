"""A batch in a real Celery worker (tests/conftest.py) that is killed with SIGKILL mid-batch and restarted.

The LLM is a real HTTP server on 127.0.0.1 answering after a delay, so the batch is half done when the
worker dies. The sweeper (its beat task, sent to the new worker) takes the batch over once the dead
task's lease has run out. Every item must end with exactly one outcome and one post at most.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.celery import app
from posting.generation.batches import batch_start
from posting.models import BatchItem, GenerationBatch, Post
from posting.tasks import sweep_generation_batches
from tests.conftest import CeleryWorker, child_env, database_url_for_subprocess
from tests.factories import default_compliance_rules
from tests.posting.batch_setup import SlowLLMServer, kols, prompt_templates_seed, stock_with_quotes

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

CODES = ["2330", "2317", "2454", "2303", "2881", "2882"]
LEASE_SECONDS = 2


def _wait_for(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def llm() -> Iterator[SlowLLMServer]:
    with SlowLLMServer(delay=0.4) as server:
        yield server


@pytest.fixture
def worker_env(
    transactional_db: None, llm: SlowLLMServer, settings: Any
) -> Iterator[tuple[str, dict[str, str]]]:
    """A private queue that this process sends to, and the environment of the workers that consume it."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = child_env(
        DATABASE_URL=database_url_for_subprocess(),
        CELERY_TASK_DEFAULT_QUEUE=queue,
        WORKER_HEARTBEAT_SECONDS="1",
        LLM_BASE_URL=llm.base_url,
        LLM_API_KEY="local",
        LLM_MODEL="fake-model",
        LLM_MAX_RETRIES="0",
        GENERATION_CONCURRENCY="2",
        GENERATION_LEASE_SECONDS=str(LEASE_SECONDS),
        GENERATION_RETRY_BACKOFF_SECONDS="0",
    )
    settings.LLM_BASE_URL, settings.LLM_API_KEY, settings.LLM_MODEL = llm.base_url, "local", "fake-model"
    settings.GENERATION_LEASE_SECONDS = LEASE_SECONDS
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    prompt_templates_seed()
    default_compliance_rules()
    try:
        yield queue, env
    finally:
        app.conf.task_default_queue = previous


def _worker(queue: str, env: dict[str, str], log: Path) -> CeleryWorker:
    worker = CeleryWorker(queue, env, log)
    worker.start()
    return worker


def _batch() -> GenerationBatch:
    writers = kols(2)
    items = [{"kol_id": writers[n % 2].pk, "stock_code": code} for n, code in enumerate(CODES)]
    for code in CODES:
        stock_with_quotes(code)
    return batch_start(source="api", items=items, post_type="analysis")


def _mid_item(batch: GenerationBatch) -> bool:
    """Some drafts are done and at least one item is in the middle of its LLM call."""
    statuses = list(BatchItem.objects.filter(batch=batch).values_list("status", flat=True))
    return statuses.count(BatchItem.Status.SUCCEEDED) >= 2 and BatchItem.Status.RUNNING in statuses


def test_a_batch_survives_a_worker_killed_mid_batch_without_losing_or_duplicating_a_draft(
    worker_env: tuple[str, dict[str, str]], llm: SlowLLMServer, tmp_path: Path
) -> None:
    queue, env = worker_env
    first = _worker(queue, env, tmp_path / "first.log")
    second: CeleryWorker | None = None
    try:
        batch = _batch()
        assert _wait_for(lambda: _mid_item(batch), timeout=60), first.log.read_text()[-3000:]
        first.kill()  # SIGKILL to the whole process group, mid-batch and mid-item
        interrupted = set(
            BatchItem.objects.filter(batch=batch, status=BatchItem.Status.RUNNING).values_list(
                "pk", flat=True
            )
        )
        assert interrupted

        second = _worker(queue, env, tmp_path / "second.log")
        time.sleep(LEASE_SECONDS + 0.5)  # the dead task's lease runs out
        sweep_generation_batches.apply_async()  # what beat sends every minute
        assert _wait_for(
            lambda: GenerationBatch.objects.get(pk=batch.pk).finished_at is not None, timeout=60
        ), second.log.read_text()[-3000:]
    finally:
        first.kill()
        if second is not None:
            second.stop()

    batch.refresh_from_db()
    items = list(BatchItem.objects.filter(batch=batch))
    posts = list(Post.objects.filter(batch=batch))
    assert (batch.status, batch.succeeded_count, batch.failed_count) == ("finished", len(CODES), 0)
    assert {item.status for item in items} == {BatchItem.Status.SUCCEEDED}
    assert len(posts) == len(CODES) == len({item.post_id for item in items})
    assert {post.pk for post in posts} == {item.post_id for item in items}  # no post without its item
    assert {post.status for post in posts} == {Post.Status.PENDING_REVIEW}
    # The interrupted items were generated again (a second claim), yet each has one post.
    assert {item.pk for item in items if item.attempts == 2} == interrupted
    # (An item claimed a moment before the kill may not have reached the server yet.)
    assert len(CODES) < llm.requests <= len(CODES) + len(interrupted)
    assert "posting.sweep_generation_batches" in (tmp_path / "second.log").read_text()
