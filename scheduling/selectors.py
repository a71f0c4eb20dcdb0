"""Reads for the admin and the API: today's numbers per schedule, and what a run would pick now."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from posting.models import Post
from scheduling.allocation import kols_allocate
from scheduling.models import Schedule, ScheduleRun
from scheduling.runs import TAIPEI, day_bounds, run_seed, schedule_posts_used
from scheduling.services import scheduler_is_paused
from scheduling.slots import slot_key
from scheduling.triggers import trigger_evaluate

Status = ScheduleRun.Status


def _count_subquery(queryset: QuerySet[Any], group_by: str) -> Coalesce:
    counted = queryset.order_by().values(group_by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def schedules_with_today(queryset: QuerySet[Schedule], *, day: dt.date | None = None) -> QuerySet[Schedule]:
    """Schedules annotated with today's runs (not skipped), skipped post times and posts created."""
    start, end = day_bounds(day or timezone.localdate(timezone=TAIPEI))
    runs = ScheduleRun.objects.filter(schedule=OuterRef("pk"), started_at__gte=start, started_at__lt=end)
    posts = Post.objects.filter(
        batch__schedule_runs__schedule=OuterRef("pk"),
        batch__schedule_runs__started_at__gte=start,
        batch__schedule_runs__started_at__lt=end,
    )
    return queryset.annotate(
        runs_today=_count_subquery(runs.exclude(status=Status.SKIPPED), "schedule"),
        skipped_today=_count_subquery(runs.filter(status=Status.SKIPPED), "schedule"),
        posts_today=_count_subquery(posts, "batch__schedule_runs__schedule"),
    )


def _schedule_rows(schedule_ids: set[int]) -> list[Schedule]:
    return list(
        Schedule.objects.filter(Q(pk__in=schedule_ids) | Q(status=Schedule.Status.ACTIVE)).order_by(
            "name", "pk"
        )
    )


@dataclass
class _DayCounts:
    statuses: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    approved: int = 0
    posts: int = 0

    def as_dict(self, schedule: Schedule) -> dict[str, Any]:
        return {
            "id": schedule.pk,
            "name": schedule.name,
            "status": schedule.status,
            "runs": sum(count for status, count in self.statuses.items() if status != Status.SKIPPED),
            "succeeded": self.statuses.get(Status.SUCCEEDED, 0),
            "running": self.statuses.get(Status.RUNNING, 0),
            "failed": self.statuses.get(Status.FAILED, 0),
            "skipped": self.statuses.get(Status.SKIPPED, 0),
            "skipped_reasons": self.reasons,
            "posts_created": self.posts,
            "auto_approved": self.approved,
            "max_posts_per_day": schedule.max_posts_per_day,
        }


def _day_counts(runs: QuerySet[ScheduleRun]) -> dict[int, _DayCounts]:
    counts: dict[int, _DayCounts] = defaultdict(_DayCounts)
    rows = (
        runs.order_by()
        .values("schedule_id", "status", "skip_reason")
        .annotate(n=Count("pk"), approved=Sum("auto_approved"))
    )
    for row in rows:
        entry = counts[row["schedule_id"]]
        entry.approved += row["approved"] or 0
        entry.statuses[row["status"]] = entry.statuses.get(row["status"], 0) + row["n"]
        if row["skip_reason"]:
            entry.reasons[row["skip_reason"]] = row["n"]
    posts = (
        Post.objects.filter(batch__schedule_runs__in=runs)
        .order_by()
        .values("batch__schedule_runs__schedule_id")
        .annotate(n=Count("pk"))
        .values_list("batch__schedule_runs__schedule_id", "n")
    )
    for schedule_id, count in posts:
        counts[schedule_id].posts = count
    return counts


def daily_stats(*, day: dt.date | None = None) -> dict[str, Any]:
    """Per schedule on ``day`` (default today, Asia/Taipei): runs by status, skips by reason, posts created.

    Lists every active schedule and every schedule with a run that day (a run counts on the day it started).
    """
    day = day or timezone.localdate(timezone=TAIPEI)
    start, end = day_bounds(day)
    counts = _day_counts(ScheduleRun.objects.filter(started_at__gte=start, started_at__lt=end))
    schedules = [
        counts.get(schedule.pk, _DayCounts()).as_dict(schedule) for schedule in _schedule_rows(set(counts))
    ]
    return {"date": day.isoformat(), "paused_globally": scheduler_is_paused(), "schedules": schedules}


def schedule_preview(*, schedule: Schedule, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the schedule's next run would pick and whom it would assign, writing nothing.

    The same calls as a real run (trigger, daily cap, allocation with the same seed and rotation), so a
    preview shows what the next post time would do with today's data.
    """
    now = now or timezone.now()
    slot_at = schedule.next_run_at or now
    used = schedule_posts_used(schedule=schedule, day=timezone.localtime(now, TAIPEI).date())
    remaining = max(schedule.max_posts_per_day - used, 0)
    result = trigger_evaluate(trigger_type=schedule.trigger_type, config=schedule.trigger_config)
    allocation = kols_allocate(
        candidates=result.candidates,
        pool=schedule.kol_pool.order_by("pk"),
        strategy=schedule.allocation_strategy,
        seed=run_seed(schedule.pk, slot_key(slot_at)),
        rotation=schedule.runs_count,
        max_assignments=min(schedule.posts_per_run, remaining),
        now=now,
    )
    return {
        "schedule": {"id": schedule.pk, "name": schedule.name, "status": schedule.status},
        "next_run_at": schedule.next_run_at.isoformat() if schedule.next_run_at else None,
        "paused_globally": scheduler_is_paused(),
        "posts_used_today": used,
        "max_assignments": min(schedule.posts_per_run, remaining),
        "trigger": result.as_dict(),
        "allocation": allocation.as_dict(),
    }
