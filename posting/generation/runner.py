"""Running a batch in the worker: threads claim items one at a time and record every outcome.

``batch_run(batch_id=..., token=...)`` is what the batch task calls. It starts only if its token is the
batch's (posting/generation/batches.py), then runs ``GENERATION_CONCURRENCY`` threads ("lanes"): the number of LLM
calls in flight. A lane claims the next pending item with one compare-and-set statement that stores a
fresh claim token, builds the snapshot and prompt and calls the LLM outside any transaction, then hands
the draft to a recorder thread and claims its next item, so a lane is only ever waiting on the LLM.

A recorder creates the post, runs the checks, marks the item succeeded (compare-and-set on the claim
token) and adds one to the batch's count, all in ONE transaction. If the item was taken away meanwhile
(the sweeper decided this worker was dead), the compare-and-set fails and the whole transaction, post
included, rolls back: an item never gets two posts, and a post never exists without its item's record.

A retryable failure puts the item back to pending with a backoff; a lane that finds nothing claimable
waits for the earliest retry while the slice lasts. At the end of its slice the task hands the rest to a
fresh task, so no task outlives its time limit. The main thread renews the lease while the threads work.
Threads read the KOLs, stocks and market snapshots of the batch once (they are the same for every draft).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import queue
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from kols.models import KOL
from market.models import Stock
from posting.generation.batches import (
    batch_finish_if_done,
    batch_hand_over,
    runner_acquire,
    runner_release,
    runner_renew,
)
from posting.generation.drafting import (
    DraftRequest,
    GeneratedDraft,
    SnapshotCache,
    draft_generate,
    llm_client,
)
from posting.generation.items import (
    ItemLost,
    ItemStatus,
    Outcome,
    item_record_failure,
    item_still_ours,
)
from posting.lifecycle.transitions import Actor
from posting.llm.client import LLMClient
from posting.llm.errors import LLMError
from posting.models import BatchItem, GenerationBatch, Post
from posting.review.services import post_create_draft, post_run_checks

logger = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 0.05
RETRY_POLL_SECONDS = 1.0
# Recording a draft (post, revision, checks, outcome) takes a fraction of an LLM call: one recorder
# thread keeps up with several lanes.
RECORDERS_PER_LANE = 4


# --- Claiming ---------------------------------------------------------------------------------------


def _claimable(batch_id: int, now: dt.datetime) -> Q:
    return Q(batch_id=batch_id, status=ItemStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


# One statement claims the next item: on PostgreSQL SKIP LOCKED lets concurrent lanes take different rows
# instead of queueing on one; SQLite runs each write alone. RETURNING hands the claimed row back at once.
_CLAIM_SQL = """
UPDATE {table} SET status = %s, claim_token = %s, attempts = attempts + 1, started_at = %s,
    next_attempt_at = NULL
WHERE id = (
    SELECT id FROM {table}
    WHERE batch_id = %s AND status = %s AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
    ORDER BY position LIMIT 1{lock}
) AND status = %s
RETURNING *
"""


def item_claim(*, batch_id: int) -> BatchItem | None:
    """The next claimable item, now running under a fresh claim token; None when there is none."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    sql = _CLAIM_SQL.format(table=connection.ops.quote_name(BatchItem._meta.db_table), lock=lock)
    params = [
        ItemStatus.RUNNING,
        uuid.uuid4().hex,
        now,
        batch_id,
        ItemStatus.PENDING,
        now,
        ItemStatus.PENDING,
    ]
    return next(iter(BatchItem.objects.raw(sql, params)), None)


def seconds_until_claimable(*, batch_id: int) -> float | None:
    """How long until a pending item may be claimed (0 = now); None when nothing is pending."""
    now = timezone.now()
    pending = BatchItem.objects.filter(batch_id=batch_id, status=ItemStatus.PENDING)
    if pending.filter(_claimable(batch_id, now)).exists():
        return 0.0
    earliest = pending.aggregate(at=Min("next_attempt_at"))["at"]
    return None if earliest is None else max(0.0, (earliest - now).total_seconds())


# --- Recording outcomes -----------------------------------------------------------------------------


def item_record_success(*, item: BatchItem, draft: GeneratedDraft) -> Post:
    """Create, check and record the post in one transaction; ItemLost (and nothing written) if not ours."""
    with transaction.atomic():
        post = post_create_draft(
            status=Post.Status.PENDING_REVIEW,
            by=Actor(label=f"batch:{item.batch_id}"),
            batch_id=item.batch_id,
            regenerated_from_id=item.regenerated_from_id,
            **draft.fields,
        )
        # The LLM classifier, when on, was asked before this transaction (draft_generate): never here.
        post = post_run_checks(
            post=post,
            llm_classifier=None if draft.classifier_answer is not None else False,
            classifier_answer=draft.classifier_answer,
        )
        marked = BatchItem.objects.filter(item_still_ours(item)).update(
            status=ItemStatus.SUCCEEDED, post=post, finished_at=timezone.now(), error="", error_code=""
        )
        if not marked:
            raise ItemLost(item.pk)
        # Last statement: the batch row is locked only for the instant before commit.
        GenerationBatch.objects.filter(pk=item.batch_id).update(succeeded_count=F("succeeded_count") + 1)
    return post


# --- Processing one item ----------------------------------------------------------------------------


def _request(item: BatchItem) -> DraftRequest:
    return DraftRequest(
        kol=item.kol,
        stock=item.stock,
        post_type=item.batch.post_type,
        topic=item.topic,
        topic_id=item.topic_id,
        length=item.length,
        trigger_type=item.trigger_type,
        trigger_key=item.trigger_key,
        trigger_reasons=list(item.trigger_reasons or []),
        playbook_control=item.playbook_control,
    )


def _unexpected(item: BatchItem, exc: Exception) -> Outcome:
    logger.exception("Generation batch %s item %s failed unexpectedly", item.batch_id, item.position)
    message = _("Unexpected error (logged): %(error)s") % {"error": f"{type(exc).__name__}: {exc}"}
    return item_record_failure(item=item, message=message, code="unexpected", retryable=False)


def item_draft(
    *, item: BatchItem, client: LLMClient | None = None, snapshots: SnapshotCache | None = None
) -> GeneratedDraft | Outcome:
    """The claimed item's draft, or the outcome its failure was recorded as (retrying or failed)."""
    try:
        return draft_generate(
            request=_request(item), writer=item.batch.writer, client=client, snapshots=snapshots
        )
    except LLMError as error:
        return item_record_failure(
            item=item, message=error.message, code=error.code, retryable=error.retryable
        )
    except ServiceError as error:
        return item_record_failure(item=item, message=error.message, code=error.code, retryable=False)
    except Exception as exc:
        return _unexpected(item, exc)


def item_record(*, item: BatchItem, draft: GeneratedDraft) -> Outcome:
    """Store the draft as the item's post, or the reason it could not be stored. Never raises."""
    try:
        item_record_success(item=item, draft=draft)
    except ItemLost:
        logger.warning(
            "Batch %s item %s was taken over; its draft was discarded", item.batch_id, item.position
        )
        return "lost"
    except ServiceError as error:
        return item_record_failure(item=item, message=error.message, code=error.code, retryable=False)
    except Exception as exc:
        return _unexpected(item, exc)
    return "succeeded"


# --- Running a batch --------------------------------------------------------------------------------


@dataclass
class RunResult:
    started: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)
    handed_over: bool = False
    finished: bool = False
    superseded: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "started": self.started,
            "outcomes": dict(self.outcomes),
            "handed_over": self.handed_over,
            "finished": self.finished,
            "superseded": self.superseded,
        }


@dataclass
class _Run:
    batch: GenerationBatch
    client: LLMClient | None
    slice_end: float
    kols: dict[int, KOL] = field(default_factory=dict)
    stocks: dict[int, Stock] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: dict[str, int] = field(default_factory=dict)
    snapshots: SnapshotCache = field(default_factory=SnapshotCache)
    inline_records: bool = False
    records: queue.SimpleQueue[tuple[BatchItem, GeneratedDraft] | None] = field(
        default_factory=queue.SimpleQueue
    )

    def count(self, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def open(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.slice_end

    def load_people_and_stocks(self) -> None:
        """The KOLs and stocks of the batch's open items, read once instead of once per item."""
        items = BatchItem.objects.filter(
            batch=self.batch, status__in=(ItemStatus.PENDING, ItemStatus.RUNNING)
        )
        self.kols = {kol.pk: kol for kol in KOL.objects.filter(pk__in=items.values("kol_id"))}
        self.stocks = {stock.pk: stock for stock in Stock.objects.filter(pk__in=items.values("stock_id"))}

    def attach(self, item: BatchItem) -> BatchItem:
        """Give the claimed item its batch, KOL and stock from the run (read-only objects, shared)."""
        item.batch = self.batch
        if item.kol_id in self.kols:
            item.kol = self.kols[item.kol_id]
        if item.stock_id is not None and item.stock_id in self.stocks:
            item.stock = self.stocks[item.stock_id]
        return item


def _next_item(run: _Run) -> BatchItem | None:
    """Claim the next item, waiting for retries due within the slice; None when the lane is done."""
    while run.open():
        item = item_claim(batch_id=run.batch.pk)
        if item is not None:
            return run.attach(item)
        wait_for = seconds_until_claimable(batch_id=run.batch.pk)
        if wait_for is None or time.monotonic() + wait_for > run.slice_end:
            return None
        run.stop.wait(min(max(wait_for, IDLE_POLL_SECONDS), RETRY_POLL_SECONDS))
    return None


def _lane(run: _Run) -> None:
    """Claim, draft, hand over to a recorder, claim the next: a lane is only ever waiting on the LLM."""
    try:
        while (item := _next_item(run)) is not None:
            drafted = item_draft(item=item, client=run.client, snapshots=run.snapshots)
            if not isinstance(drafted, GeneratedDraft):
                run.count(drafted)
            elif run.inline_records:
                run.count(item_record(item=item, draft=drafted))
            else:
                run.records.put((item, drafted))
    finally:
        # Each lane thread has its own database connection: close it, or it outlives the thread.
        connection.close()


def _recorder(run: _Run) -> None:
    """Create, check and record the posts the lanes drafted, off the lanes' path to their next LLM call."""
    try:
        while (job := run.records.get()) is not None:
            run.count(item_record(item=job[0], draft=job[1]))
    finally:
        connection.close()


def _client_for(batch: GenerationBatch, client: LLMClient | None) -> LLMClient | None:
    if client is not None or batch.writer != "llm":
        return client
    try:
        return llm_client()
    except LLMError:
        return None  # each item then fails with the readable "no LLM configured" error


def _lanes(batch_id: int, concurrency: int) -> int:
    pending = BatchItem.objects.filter(batch_id=batch_id, status=ItemStatus.PENDING).count()
    return max(1, min(concurrency, pending))


def _recorders(lanes: int) -> int:
    """A single lane records its own drafts; recorder threads pay off once several lanes share the process."""
    return 0 if lanes == 1 else math.ceil(lanes / RECORDERS_PER_LANE)


def _wait_renewing(run: _Run, token: str, futures: set[Future[None]]) -> None:
    """Wait for the threads, renewing the lease; a batch taken over meanwhile stops claiming."""
    renew_every = max(0.5, settings.GENERATION_LEASE_SECONDS / 4)
    while futures:
        done, futures = wait(futures, timeout=renew_every)
        for future in done:
            if future.exception() is not None:
                logger.error("A thread of batch %s stopped", run.batch.pk, exc_info=future.exception())
        if futures and not runner_renew(batch_id=run.batch.pk, token=token):
            logger.warning("Batch %s was taken over; this task stops claiming", run.batch.pk)
            run.stop.set()


def _work(run: _Run, token: str, lanes: int) -> None:
    recorders = _recorders(lanes)
    run.inline_records = recorders == 0
    with ThreadPoolExecutor(
        max_workers=lanes + recorders, thread_name_prefix=f"batch-{run.batch.pk}"
    ) as pool:
        recording = {pool.submit(_recorder, run) for _ in range(recorders)}
        try:
            _wait_renewing(run, token, {pool.submit(_lane, run) for _ in range(lanes)})
            for _ in range(recorders):
                run.records.put(None)  # after every draft: the recorders finish the queue, then stop
            _wait_renewing(run, token, recording)
        finally:
            # Also on the soft time limit: lanes claim no more; drafts left unrecorded keep their items
            # running until the sweeper gives them to a new task.
            run.stop.set()
            for _ in range(recorders):
                run.records.put(None)


def batch_run(
    *, batch_id: int, token: str, client: LLMClient | None = None, concurrency: int | None = None
) -> RunResult:
    """Work on the batch for one slice if ``token`` is its runner token; see the module docstring."""
    result = RunResult()
    if not runner_acquire(batch_id=batch_id, token=token):
        return result
    result.started = True
    batch = GenerationBatch.objects.get(pk=batch_id)
    run = _Run(
        batch=batch,
        client=_client_for(batch, client),
        slice_end=time.monotonic() + settings.GENERATION_SLICE_SECONDS,
    )
    run.load_people_and_stocks()
    try:
        _work(run, token, _lanes(batch_id, concurrency or settings.GENERATION_CONCURRENCY))
    finally:
        result.outcomes = dict(run.outcomes)
    if not runner_renew(batch_id=batch_id, token=token):
        result.superseded = True
        return result
    result.finished = batch_finish_if_done(batch_id=batch_id)
    if not result.finished:
        result.handed_over = batch_hand_over(batch_id=batch_id, token=token) is not None
        if not result.handed_over:
            runner_release(batch_id=batch_id, token=token)
    return result
