"""Generation batches: starting, cancelling, handing over and finishing them.

A batch owns one ``BatchItem`` per draft. Work happens in the worker (posting/generation/runner.py): the
admin, ``POST /api/batches/`` and schedules only call ``batch_start``, so closing a browser changes
nothing.

Exactly one task may work on a batch at a time. ``GenerationBatch.runner_token`` names it: every time a
task is queued for the batch it gets a fresh token, and a task whose token is no longer the batch's
(a redelivered or superseded message) exits without touching anything. ``runner_deadline`` is when a
queued task must have started, or when a running task's lease ends. Past it the sweeper (a beat entry)
takes the batch over: the dead task's running items go back to pending (or fail when out of attempts)
and a new task is queued. Because a post is only ever created in the transaction that marks its
claimed item succeeded, a take-over can never produce a second post for an item.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ConflictError, ServiceError
from config.queue import task_enqueue_on_commit
from kols.models import KOL, PostType
from market.models import Stock
from posting.generation.drafting import writer_for_new_batch
from posting.generation.items import item_max_attempts, item_record_failure
from posting.generation.prompts import PostLength, PromptError, active_template
from posting.lifecycle.transitions import Actor
from posting.models import BatchItem, GenerationBatch, Post
from posting.tags import TagError, bare_stock_code

logger = logging.getLogger(__name__)

Status = GenerationBatch.Status
ItemStatus = BatchItem.Status
OPEN_ITEM_STATES = (ItemStatus.PENDING, ItemStatus.RUNNING)
ERROR_SUMMARY_KINDS = 5


class BatchInputError(ServiceError):
    code = "invalid"


# --- Starting a batch -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    kol: KOL
    stock: Stock | None
    topic: str
    trigger_type: str
    trigger_key: str
    trigger_reasons: list[str]
    regenerated_from_id: uuid.UUID | None = None
    topic_id: str = ""


def _invalid(field: str, message: str) -> BatchInputError:
    return BatchInputError(message, fields={field: [message]})


def _reasons(value: object, position: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(reason, str) for reason in value):
        raise _invalid("items", _("Item %(n)d: trigger_reasons must be a list of texts.") % {"n": position})
    return [reason.strip() for reason in value if reason.strip()]


def _stocks_by_ref(items: Sequence[Mapping[str, Any]]) -> tuple[dict[int, Stock], dict[str, Stock]]:
    ids = {item["stock_id"] for item in items if item.get("stock_id") is not None}
    codes: set[str] = set()
    for item in items:
        if item.get("stock_code"):
            try:
                codes.add(bare_stock_code(str(item["stock_code"])))
            except TagError as error:
                raise _invalid("items", error.message) from error
    found = Stock.objects.filter(Q(pk__in=ids) | Q(code__in=codes))
    return {stock.pk: stock for stock in found}, {stock.code: stock for stock in found}


def _stock_of(
    item: Mapping[str, Any], position: int, by_id: dict[int, Stock], by_code: dict[str, Stock]
) -> Stock | None:
    if item.get("stock_id") is not None:
        stock = by_id.get(item["stock_id"])
        if stock is None:
            raise _invalid(
                "items", _("Item %(n)d: no stock with id %(id)s.") % {"n": position, "id": item["stock_id"]}
            )
        return stock
    if item.get("stock_code"):
        code = bare_stock_code(str(item["stock_code"]))
        stock = by_code.get(code)
        if stock is None:
            raise _invalid(
                "items", _("Item %(n)d: no stock with code %(code)s.") % {"n": position, "code": code}
            )
        return stock
    return None


def _kols_by_id(items: Sequence[Mapping[str, Any]]) -> dict[int, KOL]:
    ids = {item.get("kol_id") for item in items}
    return {kol.pk: kol for kol in KOL.objects.filter(pk__in=[i for i in ids if isinstance(i, int)])}


def _kol_of(item: Mapping[str, Any], position: int, kols: dict[int, KOL]) -> KOL:
    kol = kols.get(item.get("kol_id"))  # type: ignore[arg-type]
    if kol is None:
        raise _invalid(
            "items", _("Item %(n)d: no KOL with id %(id)s.") % {"n": position, "id": item.get("kol_id")}
        )
    if kol.status != KOL.Status.ACTIVE:
        raise _invalid("items", _("Item %(n)d: %(kol)s is paused.") % {"n": position, "kol": kol.nickname})
    return kol


def _post_id(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _check_regenerated_from(items: Sequence[Mapping[str, Any]]) -> None:
    try:
        ids = {pk for item in items if (pk := _post_id(item.get("regenerated_from_id"))) is not None}
    except ValueError as error:
        raise _invalid("items", _("regenerated_from_id must be a post id.")) from error
    found = set(Post.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    missing = sorted(str(pk) for pk in ids - found)
    if missing:
        raise _invalid("items", _("No post with id %(id)s to regenerate.") % {"id": missing[0]})


def batch_items_resolve(items: Sequence[Mapping[str, Any]]) -> list[ItemSpec]:
    """Validate item dicts (``kol_id``, ``stock_id`` or ``stock_code`` or ``topic``, ``trigger_*``, and
    ``regenerated_from_id``: the post a regeneration replaces, posting/generation/regenerate.py)."""
    if not items:
        raise _invalid("items", _("A batch needs at least one item (a KOL with a stock or a topic)."))
    if len(items) > settings.GENERATION_MAX_BATCH_ITEMS:
        raise _invalid(
            "items",
            _("A batch may ask for at most %(max)d drafts; this one asks for %(count)d.")
            % {"max": settings.GENERATION_MAX_BATCH_ITEMS, "count": len(items)},
        )
    kols = _kols_by_id(items)
    by_id, by_code = _stocks_by_ref(items)
    _check_regenerated_from(items)
    specs = []
    for position, item in enumerate(items, start=1):
        stock = _stock_of(item, position, by_id, by_code)
        topic = str(item.get("topic") or "").strip()[:200]
        if stock is None and not topic:
            raise _invalid("items", _("Item %(n)d needs a stock or a topic.") % {"n": position})
        specs.append(
            ItemSpec(
                kol=_kol_of(item, position, kols),
                stock=stock,
                topic=topic,
                trigger_type=str(item.get("trigger_type") or "")[:30],
                trigger_key=str(item.get("trigger_key") or "")[:100],
                trigger_reasons=_reasons(item.get("trigger_reasons"), position),
                regenerated_from_id=_post_id(item.get("regenerated_from_id")),
                topic_id=str(item.get("topic_id") or "").strip()[:100],
            )
        )
    return specs


def _check_post_type(post_type: str, length: str, writer: str) -> None:
    if post_type not in PostType.values:
        raise _invalid(
            "post_type",
            _("Unknown post type %(type)r; expected one of %(choices)s.")
            % {"type": post_type, "choices": ", ".join(PostType.values)},
        )
    if length not in PostLength.values:
        raise _invalid(
            "length",
            _("Unknown length %(length)r; expected one of %(choices)s.")
            % {"length": length, "choices": ", ".join(PostLength.values)},
        )
    if writer == "llm":
        try:
            active_template(post_type)
        except PromptError as error:
            raise _invalid("post_type", error.message) from error


def _control_draw() -> bool:
    """Each item independently joins the control group (no playbook) with LEARNING_CONTROL_SHARE."""
    # A draw nobody can steer (not that anyone would): the comparison is only honest if the split is random.
    return secrets.SystemRandom().random() < settings.LEARNING_CONTROL_SHARE


def batch_create(
    *,
    source: str,
    items: Sequence[Mapping[str, Any]],
    post_type: str,
    requested_by: Any = None,
    source_ref: str = "",
    length: str = PostLength.MEDIUM,
    writer: str = "",
) -> GenerationBatch:
    """The batch and its items, queued; nothing runs until ``batch_start`` (or the sweeper) queues a task."""
    if source not in GenerationBatch.Source.values:
        raise _invalid("source", _("Unknown batch source %(source)r.") % {"source": source})
    writer = writer_for_new_batch(writer)
    _check_post_type(post_type, length, writer)
    specs = batch_items_resolve(items)
    with transaction.atomic():
        batch = GenerationBatch.objects.create(
            source=source,
            source_ref=source_ref[:100],
            requested_by=requested_by,
            post_type=post_type,
            writer=writer,
            requested_count=len(specs),
        )
        BatchItem.objects.bulk_create(
            BatchItem(
                batch=batch,
                position=position,
                kol=spec.kol,
                stock=spec.stock,
                topic=spec.topic,
                topic_id=spec.topic_id,
                length=length,
                trigger_type=spec.trigger_type,
                trigger_key=spec.trigger_key,
                trigger_reasons=spec.trigger_reasons,
                regenerated_from_id=spec.regenerated_from_id,
                playbook_control=_control_draw(),
            )
            for position, spec in enumerate(specs, start=1)
        )
    return batch


def batch_start(
    *,
    source: str,
    items: Sequence[Mapping[str, Any]],
    post_type: str,
    requested_by: Any = None,
    source_ref: str = "",
    length: str = PostLength.MEDIUM,
    writer: str = "",
) -> GenerationBatch:
    """Create the batch and queue its task once the surrounding transaction commits.

    The one entry point of the admin, ``POST /api/batches/`` and schedules (``source="schedule"``).
    """
    with transaction.atomic():
        batch = batch_create(
            source=source,
            items=items,
            post_type=post_type,
            requested_by=requested_by,
            source_ref=source_ref,
            length=length,
            writer=writer,
        )
        batch_wake(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


# --- The one task allowed to work on a batch --------------------------------------------------------


def _send(batch_id: int, token: str, countdown: float) -> None:
    # A broker outage must not undo what committed; the sweeper sends again past the deadline.
    task_enqueue_on_commit("posting.run_generation_batch", args=(batch_id, token), countdown=countdown)


def batch_wake(
    *, batch_id: int, countdown: float = 0, expected_token: str | None = None, now: dt.datetime | None = None
) -> str | None:
    """Queue a task for the batch under a fresh token (superseding any other); None when the batch has
    ended or its token is no longer ``expected_token``."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    batches = GenerationBatch.objects.filter(pk=batch_id, finished_at__isnull=True)
    if expected_token is not None:
        batches = batches.filter(runner_token=expected_token)
    deadline = now + dt.timedelta(seconds=countdown + settings.GENERATION_QUEUE_GRACE_SECONDS)
    if not batches.update(runner_token=token, runner_started_at=None, runner_deadline=deadline):
        return None
    _send(batch_id, token, countdown)
    return token


def runner_acquire(*, batch_id: int, token: str, now: dt.datetime | None = None) -> bool:
    """The task with this token starts; False when it was superseded, already ran, or the batch ended."""
    now = now or timezone.now()
    lease = now + dt.timedelta(seconds=settings.GENERATION_LEASE_SECONDS)
    started = GenerationBatch.objects.filter(
        pk=batch_id, runner_token=token, runner_started_at__isnull=True, finished_at__isnull=True
    ).update(runner_started_at=now, runner_deadline=lease)
    if started:
        GenerationBatch.objects.filter(pk=batch_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=now
        )
    return bool(started)


def runner_renew(*, batch_id: int, token: str) -> bool:
    """Extend the running task's lease; False when the sweeper took the batch over."""
    lease = timezone.now() + dt.timedelta(seconds=settings.GENERATION_LEASE_SECONDS)
    return bool(GenerationBatch.objects.filter(pk=batch_id, runner_token=token).update(runner_deadline=lease))


def runner_release(*, batch_id: int, token: str) -> None:
    GenerationBatch.objects.filter(pk=batch_id, runner_token=token).update(
        runner_token="", runner_started_at=None, runner_deadline=None
    )


def batch_hand_over(*, batch_id: int, token: str) -> str | None:
    """At the end of a task's slice: the next task, due when the earliest waiting retry is."""
    now = timezone.now()
    earliest = BatchItem.objects.filter(batch_id=batch_id, status=ItemStatus.PENDING).aggregate(
        at=Min("next_attempt_at")
    )["at"]
    countdown = max(0.0, (earliest - now).total_seconds()) if earliest else 0.0
    return batch_wake(batch_id=batch_id, countdown=countdown, expected_token=token, now=now)


# --- Finishing --------------------------------------------------------------------------------------


def _failure_summary(batch: GenerationBatch) -> str:
    failed = BatchItem.objects.filter(batch=batch, status=ItemStatus.FAILED).values_list("error", flat=True)
    kinds = Counter(error.split("\n", 1)[0][:300] for error in failed)
    if not kinds:
        return ""
    lines = [
        _("%(failed)d of %(total)d drafts failed:")
        % {"failed": sum(kinds.values()), "total": batch.requested_count}
    ]
    lines += [f"{count} × {error}" for error, count in kinds.most_common(ERROR_SUMMARY_KINDS)]
    if len(kinds) > ERROR_SUMMARY_KINDS:
        lines.append(_("… and %(n)d other errors.") % {"n": len(kinds) - ERROR_SUMMARY_KINDS})
    return "\n".join(lines)


def batch_finish_if_done(*, batch_id: int, now: dt.datetime | None = None) -> bool:
    """End the batch once no item is pending or running: finished, failed (nothing succeeded) or cancelled."""
    now = now or timezone.now()
    with transaction.atomic():
        batch = (
            GenerationBatch.objects.select_for_update().filter(pk=batch_id, finished_at__isnull=True).first()
        )
        if batch is None or BatchItem.objects.filter(batch=batch, status__in=OPEN_ITEM_STATES).exists():
            return False
        if batch.status != Status.CANCELLED:
            nothing = batch.succeeded_count == 0 and batch.failed_count > 0
            batch.status = Status.FAILED if nothing else Status.FINISHED
        summary = _failure_summary(batch)
        batch.error_summary = "\n".join(part for part in (batch.error_summary, summary) if part)
        batch.started_at = batch.started_at or now
        batch.finished_at = now
        batch.runner_token, batch.runner_started_at, batch.runner_deadline = "", None, None
        batch.save(
            update_fields=[
                "status",
                "error_summary",
                "started_at",
                "finished_at",
                "runner_token",
                "runner_started_at",
                "runner_deadline",
            ]
        )
    logger.info("Generation batch %s ended %s", batch_id, batch.status)
    return True


# --- Cancelling -------------------------------------------------------------------------------------


def batch_cancel(*, batch: GenerationBatch, by: Any) -> GenerationBatch:
    """Pending items are cancelled at once; running ones finish and keep their outcome."""
    actor = by if isinstance(by, Actor) else Actor(user=by)
    now = timezone.now()
    with transaction.atomic():
        locked = GenerationBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status not in (Status.QUEUED, Status.RUNNING):
            raise ConflictError(
                _("Cannot cancel: the batch is already %(status)s.")
                % {"status": locked.get_status_display()},
                code="batch_not_running",
            )
        note = _("Cancelled by %(who)s.") % {"who": actor.name()}
        cancelled = BatchItem.objects.filter(batch=locked, status=ItemStatus.PENDING).update(
            status=ItemStatus.CANCELLED, finished_at=now, error=note, error_code="cancelled", claim_token=""
        )
        GenerationBatch.objects.filter(pk=locked.pk).update(
            status=Status.CANCELLED,
            cancelled_count=F("cancelled_count") + cancelled,
            started_at=locked.started_at or now,
            error_summary=note,
        )
    batch_finish_if_done(batch_id=batch.pk, now=now)
    batch.refresh_from_db()
    return batch


# --- Taking over from a dead task -------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    taken_over: int
    reclaimed: int
    failed: int
    finished: int


def items_reclaim(*, batch_id: int, now: dt.datetime) -> tuple[int, int]:
    """The running items of a batch whose task died: back to pending, or failed when out of attempts."""
    reclaimed = failed = 0
    running = BatchItem.objects.filter(batch_id=batch_id, status=ItemStatus.RUNNING)
    for item in running.only("pk", "batch_id", "claim_token", "attempts"):
        message = _("The worker running this item stopped (attempt %(n)d of %(max)d).") % {
            "n": item.attempts,
            "max": item_max_attempts(),
        }
        outcome = item_record_failure(item=item, message=message, code="worker_lost", retryable=True, now=now)
        reclaimed += outcome == "retrying"
        failed += outcome == "failed"
    return reclaimed, failed


def _take_over(batch_id: int, seen_token: str, now: dt.datetime) -> tuple[bool, int, int, bool]:
    with transaction.atomic():
        stale = Q(runner_deadline__lt=now) | Q(runner_deadline__isnull=True)
        # Compare-and-set on the token we saw: a task that renewed its lease meanwhile keeps its batch.
        claimed = GenerationBatch.objects.filter(stale, pk=batch_id, runner_token=seen_token).update(
            runner_token="", runner_started_at=None, runner_deadline=None
        )
        if not claimed:
            return False, 0, 0, False
        reclaimed, failed = items_reclaim(batch_id=batch_id, now=now)
    finished = batch_finish_if_done(batch_id=batch_id, now=now)
    if not finished:
        batch_wake(batch_id=batch_id, expected_token="", now=now)
    return True, reclaimed, failed, finished


def batches_sweep(*, now: dt.datetime | None = None, limit: int = 100) -> SweepResult:
    """Take over every unfinished batch whose task is overdue to start or whose lease ran out."""
    now = now or timezone.now()
    overdue = (
        GenerationBatch.objects.filter(finished_at__isnull=True)
        .filter(Q(runner_deadline__lt=now) | Q(runner_deadline__isnull=True))
        .order_by("created_at")
        .values_list("pk", "runner_token")[:limit]
    )
    taken = reclaimed = failed = finished = 0
    for batch_id, token in list(overdue):
        took, back, lost, ended = _take_over(batch_id, token, now)
        if took:
            logger.warning("Took over generation batch %s (task overdue or lease expired)", batch_id)
        taken += took
        reclaimed += back
        failed += lost
        finished += ended
    return SweepResult(taken_over=taken, reclaimed=reclaimed, failed=failed, finished=finished)


# --- Reading progress -------------------------------------------------------------------------------


def batch_progress(batch: GenerationBatch) -> dict[str, int]:
    """``done`` counts every item with an outcome, cancelled ones included, so a batch ends at 100%."""
    done = batch.succeeded_count + batch.failed_count + batch.cancelled_count
    total = batch.requested_count
    return {
        "done": done,
        "total": total,
        "percent": 100 if total == 0 else min(100, done * 100 // total),
        "succeeded": batch.succeeded_count,
        "failed": batch.failed_count,
        "cancelled": batch.cancelled_count,
    }
