"""Thin Celery wrappers: interaction collection, and the daily analyses and weekly playbook proposals."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from analytics.analysis.services import analyses_refresh, playbooks_propose
from analytics.collection import snapshots_collect, snapshots_dispatch
from analytics.scoring import FORMULA_HELD_SECONDS, scores_recompute_queued
from analytics.services import kol_snapshots_take

# Collectors work for at most this long, inside the task's limits.
COLLECT_BUDGET_SECONDS = 50


# No retries: whatever is not planned or claimed stays due, and the next minute's tick takes it.
@shared_task(name="analytics.dispatch_snapshots", soft_time_limit=50, time_limit=55, expires=55)
def dispatch_snapshots() -> dict[str, int]:
    result = snapshots_dispatch()
    return {"planned": result.planned, "workers": result.workers}


# A loop holds the active score formula for its whole run: FORMULA_HELD_SECONDS is this hard limit.
@shared_task(
    name="analytics.collect_snapshots", soft_time_limit=80, time_limit=FORMULA_HELD_SECONDS, expires=55
)
def collect_snapshots() -> dict[str, Any]:
    result = snapshots_collect(budget_seconds=COLLECT_BUDGET_SECONDS)
    return {
        "collected": result.collected,
        "retried": result.retried,
        "failed": result.failed,
        "stopped": result.stopped,
    }


@shared_task(name="analytics.take_kol_snapshots", soft_time_limit=600, time_limit=660)
def take_kol_snapshots() -> dict[str, int]:
    return {"taken": kol_snapshots_take()}


# Queued when a score formula version becomes active; the daily analyses job finishes one that never ran.
@shared_task(name="analytics.recompute_scores", soft_time_limit=3600, time_limit=3660)
def recompute_scores(formula_id: int) -> dict[str, int]:
    return {"rescored": scores_recompute_queued(formula_id=formula_id)}


@shared_task(name="analytics.refresh_analyses", soft_time_limit=1800, time_limit=1860)
def refresh_analyses() -> dict[str, int]:
    return analyses_refresh()


@shared_task(name="analytics.propose_playbooks", soft_time_limit=1800, time_limit=1860)
def propose_playbooks() -> dict[str, int]:
    return playbooks_propose()
