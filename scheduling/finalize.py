"""Closing a schedule run once its batch has finished: count its drafts, and auto-approve when asked.

Auto-approve is off by default. When a schedule has it on, only its own drafts that are still pending
review, have been checked, carry no blocking finding and score at least the schedule's minimum quality
are approved, by ``Actor(label="schedule:<id>")`` through posting's services; every other draft stays in
the review queue with the reason recorded on the run. With a publish offset, each approved draft is
scheduled to publish that many minutes after its approval.

Posting never imports scheduling, so this sweep runs from scheduling's own beat task.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from posting.lifecycle.transitions import Actor
from posting.models import GenerationBatch, Post
from posting.review.services import post_approve, post_schedule
from scheduling.models import Schedule, ScheduleRun
from scheduling.runs import schedule_note_run

logger = logging.getLogger(__name__)

BATCH_DONE = (
    GenerationBatch.Status.FINISHED,
    GenerationBatch.Status.FAILED,
    GenerationBatch.Status.CANCELLED,
)


def schedule_actor(schedule: Schedule) -> Actor:
    return Actor(label=f"schedule:{schedule.pk}")


def _kept_reason(post: Post, minimum: float) -> dict[str, Any] | None:
    """Why a draft may not be auto-approved, as data; None when it may."""
    if post.status != Post.Status.PENDING_REVIEW:
        return {"code": "not_pending_review", "status": post.status}
    if post.has_blocking_finding:
        codes = [item.get("code") for item in post.check_findings or [] if item.get("severity") == "block"]
        return {"code": "blocking_finding", "findings": codes}
    if post.quality_score is None:
        return {"code": "not_checked"}
    if post.quality_score < minimum:
        return {"code": "quality_below_minimum", "quality": post.quality_score, "minimum": minimum}
    return None


def _approve(post: Post, schedule: Schedule, now: dt.datetime) -> dict[str, Any]:
    actor = schedule_actor(schedule)
    note = _(
        "Auto-approved by schedule %(name)s: no blocking finding, quality %(quality).2f ≥ %(minimum).2f."
    ) % {
        "name": schedule.name,
        "quality": post.quality_score,
        "minimum": schedule.auto_approve_min_quality,
    }
    post = post_approve(post=post, by=actor, expected_version=post.version, note=note)
    outcome: dict[str, Any] = {"post": str(post.pk), "approved": True}
    if schedule.publish_offset_minutes:
        at = now + dt.timedelta(minutes=schedule.publish_offset_minutes)
        post_schedule(post=post, by=actor, at=at)
        outcome["scheduled_at"] = at.isoformat()
    return outcome


def drafts_auto_approve(*, schedule: Schedule, posts: list[Post], now: dt.datetime) -> dict[str, Any]:
    """Approve the drafts that qualify; report which were approved and why the others were kept."""
    approved: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for post in posts:
        reason = _kept_reason(post, schedule.auto_approve_min_quality)
        if reason is None:
            try:
                with transaction.atomic():
                    approved.append(_approve(post, schedule, now))
                continue
            except ServiceError as exc:
                reason = {"code": "refused", "message": exc.message}
        kept.append({"post": str(post.pk), **reason})
    return {"approved": approved, "kept": kept}


def run_finalize(*, run_id: int, now: dt.datetime | None = None) -> ScheduleRun | None:
    """Close one running run whose batch is done; None when there is nothing (or no longer) to close."""
    now = now or timezone.now()
    with transaction.atomic():
        run = (
            ScheduleRun.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("schedule", "batch")
            .filter(pk=run_id, status=ScheduleRun.Status.RUNNING, batch__status__in=BATCH_DONE)
            .first()
        )
        if run is None or run.batch is None:
            return None
        posts = list(Post.objects.filter(batch=run.batch).order_by("created_at", "pk"))
        run.posts_created = len(posts)
        if run.schedule.auto_approve:
            run.review = drafts_auto_approve(schedule=run.schedule, posts=posts, now=now)
            run.auto_approved = len(run.review["approved"])
        finished = run.batch.status == GenerationBatch.Status.FINISHED
        run.status = ScheduleRun.Status.SUCCEEDED if finished else ScheduleRun.Status.FAILED
        run.message = run.batch.error_summary or (
            ""
            if finished
            else _("The generation batch ended: %(status)s.") % {"status": run.batch.get_status_display()}
        )
        run.finished_at = now
        run.save()
        Schedule.objects.filter(pk=run.schedule_id).update(
            posts_created_count=F("posts_created_count") + run.posts_created
        )
        if not ScheduleRun.objects.filter(
            schedule_id=run.schedule_id, started_at__gt=run.started_at
        ).exists():
            schedule_note_run(run)
    return run


def schedule_runs_finalize(*, now: dt.datetime | None = None) -> list[ScheduleRun]:
    """The beat task's work: close every running run whose batch has finished, failed or been cancelled."""
    ids = list(
        ScheduleRun.objects.filter(status=ScheduleRun.Status.RUNNING, batch__status__in=BATCH_DONE)
        .order_by("started_at")
        .values_list("pk", flat=True)[: settings.SCHEDULING_DISPATCH_LIMIT]
    )
    closed: list[ScheduleRun] = []
    for run_id in ids:
        try:
            run = run_finalize(run_id=run_id, now=now)
        except Exception:
            logger.exception("Closing schedule run %s failed", run_id)
            continue
        closed += [run] if run is not None else []
    return closed
