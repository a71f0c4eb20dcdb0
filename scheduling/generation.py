"""The one place scheduling hands work to generation: a schedule run's assignments become a batch.

Scheduling sits above posting, so it calls posting's batch service; posting never imports scheduling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from posting.generation.batches import batch_start
from posting.models import GenerationBatch

if TYPE_CHECKING:
    from scheduling.allocation import Assignment
    from scheduling.models import Schedule, ScheduleRun


def generation_item(assignment: Assignment) -> dict[str, Any]:
    """One batch item: which KOL writes about which stock (or topic), and the trigger's reasons."""
    candidate = assignment.candidate
    return {
        "kol_id": assignment.kol.pk,
        "stock_id": candidate.stock.pk if candidate.stock is not None else None,
        "topic": candidate.topic,
        "trigger_type": candidate.trigger_type,
        "trigger_key": candidate.key,
        "trigger_reasons": [candidate.summary] if candidate.summary else [],
    }


def generation_start(
    *, schedule: Schedule, run: ScheduleRun, assignments: Sequence[Assignment]
) -> GenerationBatch:
    """Start the batch that writes this run's drafts; they land in the review queue.

    The batch's task is queued when the dispatcher's transaction commits, so a run that rolls back
    never leaves a batch working.
    """
    return batch_start(
        source=GenerationBatch.Source.SCHEDULE,
        source_ref=f"schedule:{schedule.pk}:{run.slot}",
        items=[generation_item(assignment) for assignment in assignments],
        post_type=schedule.post_type,
        length=schedule.post_length,
    )
