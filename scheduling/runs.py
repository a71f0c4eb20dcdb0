"""One schedule run: the daily cap, the trigger, the KOL allocation and the generation batch.

The dispatcher and "run now" both claim a ScheduleRun row first (unique per schedule and slot), then
call ``run_execute`` inside the same transaction. What the run saw is stored on the row: the candidates
with their reasons, the assignments, what no KOL could take, and why the run was skipped or failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from posting.models import GenerationBatch, Post
from scheduling.allocation import AllocationResult, kols_allocate
from scheduling.generation import generation_start
from scheduling.models import Schedule, ScheduleRun
from scheduling.triggers import TriggerResult, trigger_evaluate

logger = logging.getLogger(__name__)

TAIPEI = ZoneInfo("Asia/Taipei")
Status = ScheduleRun.Status
Reason = ScheduleRun.SkipReason
UNFINISHED_BATCH = (GenerationBatch.Status.QUEUED, GenerationBatch.Status.RUNNING)


def run_seed(schedule_id: int, slot: str) -> int:
    """The same schedule and slot always draw the same random KOL order (a retry picks the same KOLs)."""
    digest = hashlib.sha256(f"{schedule_id}:{slot}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=TAIPEI)
    return start, start + dt.timedelta(days=1)


def schedule_posts_used(*, schedule: Schedule, day: dt.date) -> int:
    """Posts the schedule's runs started on ``day`` created, plus the items their batches still owe."""
    start, end = day_bounds(day)
    batches = ScheduleRun.objects.filter(
        schedule=schedule, started_at__gte=start, started_at__lt=end, batch__isnull=False
    ).values("batch_id")
    created = Post.objects.filter(batch_id__in=batches).count()
    owed = GenerationBatch.objects.filter(pk__in=batches, status__in=UNFINISHED_BATCH).aggregate(
        owed=Sum(F("requested_count") - F("succeeded_count") - F("failed_count") - F("cancelled_count"))
    )["owed"]
    return created + max(owed or 0, 0)


def run_record(run: ScheduleRun, *, status: str, message: str = "", reason: str = "") -> ScheduleRun:
    """Save the run's outcome and note it on the schedule as its last run."""
    run.status = status
    run.message = message
    run.skip_reason = reason
    if status != Status.RUNNING:
        run.finished_at = timezone.now()
    run.save()
    schedule_note_run(run)
    return run


def schedule_note_run(run: ScheduleRun) -> None:
    Schedule.objects.filter(pk=run.schedule_id).update(last_run_at=run.started_at, last_run_status=run.status)


def _skip(run: ScheduleRun, reason: str, message: str) -> ScheduleRun:
    return run_record(run, status=Status.SKIPPED, reason=reason, message=message)


def _candidates_store(run: ScheduleRun, result: TriggerResult) -> None:
    run.trigger_as_of = result.as_of
    run.candidates = [candidate.as_dict() for candidate in result.candidates]
    run.trigger_excluded = result.excluded_counts


def _allocation_store(run: ScheduleRun, allocation: AllocationResult) -> None:
    run.assignments = [
        {
            "rank": item.candidate.rank,
            "candidate": item.candidate.key,
            "kol": {"id": item.kol.pk, "nickname": item.kol.nickname, "persona": item.kol.persona},
            "reasons": item.reasons,
        }
        for item in allocation.assignments
    ]
    run.allocation_skipped = [
        {
            "rank": skip.candidate.rank,
            "candidate": skip.candidate.key,
            "code": skip.code,
            "message": skip.message,
            "blocked": skip.blocked,
        }
        for skip in allocation.skipped
    ]


def _no_candidates_message(result: TriggerResult) -> str:
    left_out = ", ".join(f"{code} {count}" for code, count in sorted(result.excluded_counts.items()))
    message = _("The trigger picked nothing for %(day)s.") % {
        "day": result.as_of.isoformat() if result.as_of else _("the latest market day")
    }
    if left_out:
        message += " " + _("Left out: %(counts)s.") % {"counts": left_out}
    return " ".join([message, *result.notes])


def _no_kol_message(allocation: AllocationResult) -> str:
    counts = Counter(skip.code for skip in allocation.skipped)
    reasons = ", ".join(f"{code} {count}" for code, count in sorted(counts.items()))
    return _("No KOL in the pool could take any candidate (%(reasons)s).") % {"reasons": reasons}


def _execute(run: ScheduleRun, schedule: Schedule, now: dt.datetime) -> ScheduleRun:
    used = schedule_posts_used(schedule=schedule, day=timezone.localtime(now, TAIPEI).date())
    remaining = schedule.max_posts_per_day - used
    if remaining <= 0:
        message = _("The schedule's runs have already created %(used)s of its %(cap)s posts today.")
        return _skip(run, Reason.DAILY_CAP, message % {"used": used, "cap": schedule.max_posts_per_day})
    result = trigger_evaluate(trigger_type=schedule.trigger_type, config=schedule.trigger_config)
    _candidates_store(run, result)
    if not result.candidates:
        return _skip(run, Reason.NO_CANDIDATES, _no_candidates_message(result))
    allocation = kols_allocate(
        candidates=result.candidates,
        pool=schedule.kol_pool.order_by("pk"),
        strategy=schedule.allocation_strategy,
        seed=run_seed(schedule.pk, run.slot),
        rotation=schedule.runs_count,
        max_assignments=min(schedule.posts_per_run, remaining),
        now=now,
    )
    _allocation_store(run, allocation)
    if not allocation.assignments:
        return _skip(run, Reason.NO_KOL_AVAILABLE, _no_kol_message(allocation))
    run.batch = generation_start(schedule=schedule, run=run, assignments=allocation.assignments)
    Schedule.objects.filter(pk=schedule.pk).update(runs_count=F("runs_count") + 1)
    return run_record(run, status=Status.RUNNING)


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, ServiceError):
        return exc.message
    return _("Unexpected error (logged): %(error)s") % {"error": f"{type(exc).__name__}: {exc}"}


def run_execute(*, run: ScheduleRun, schedule: Schedule, now: dt.datetime) -> ScheduleRun:
    """Run a claimed slot: skipped with the reason, failed with the error, or running its batch.

    The work happens in a savepoint, so a failure rolls back anything half-written (a half-started batch)
    while the claimed row survives, marked failed with a readable message.
    """
    try:
        with transaction.atomic():
            return _execute(run, schedule, now)
    except Exception as exc:
        if not isinstance(exc, ServiceError):
            logger.exception("Schedule %s run %s failed", schedule.pk, run.slot)
        run.batch = None
        return run_record(run, status=Status.FAILED, message=_failure_message(exc))


def run_summary(run: ScheduleRun) -> dict[str, Any]:
    """The run as the dispatcher reports it (and the task returns it)."""
    return {"schedule": run.schedule_id, "slot": run.slot, "status": run.status, "reason": run.skip_reason}
