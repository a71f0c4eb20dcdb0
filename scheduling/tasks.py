"""Thin Celery wrappers around the scheduling services, run by beat every minute."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from scheduling.dispatch import schedules_dispatch
from scheduling.finalize import schedule_runs_finalize


# No retries: a failed tick leaves every due schedule due, and the next minute's tick claims it.
@shared_task(name="scheduling.dispatch_due_schedules", soft_time_limit=50, time_limit=55, expires=55)
def dispatch_due_schedules() -> dict[str, Any]:
    result = schedules_dispatch()
    return {"schedules": result.schedules, "runs": result.counts()}


@shared_task(name="scheduling.finalize_schedule_runs", soft_time_limit=50, time_limit=55, expires=55)
def finalize_schedule_runs() -> dict[str, int]:
    closed = schedule_runs_finalize()
    return {"closed": len(closed), "auto_approved": sum(run.auto_approved for run in closed)}
