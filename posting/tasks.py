from __future__ import annotations

from celery import shared_task
from django.conf import settings

from posting.generation.batches import batches_sweep
from posting.generation.runner import batch_run
from posting.publishing.dispatch import publications_dispatch, publications_sweep
from posting.publishing.outbox import publication_send
from posting.review.stale import posts_handle_stale


@shared_task(name="posting.handle_stale_drafts", soft_time_limit=240, time_limit=300)
def handle_stale_drafts() -> dict[str, int]:
    result = posts_handle_stale()
    return {"flagged": result.flagged, "expired": result.expired}


# No autoretry: a send that may be retried is re-queued by the outbox itself (with its pace and
# backoff), and a redelivered message finds the publication already claimed and does nothing.
@shared_task(
    name="posting.publish_publication",
    soft_time_limit=settings.PUBLISH_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.PUBLISH_TASK_TIME_LIMIT,
)
def publish_publication(publication_id: int) -> str:
    return publication_send(publication_id=publication_id).status


# No retries: whatever a tick leaves due, the next minute's tick finds.
@shared_task(name="posting.dispatch_publications", soft_time_limit=50, time_limit=55, expires=55)
def dispatch_publications() -> int:
    return publications_dispatch()


@shared_task(name="posting.sweep_publications", soft_time_limit=50, time_limit=55, expires=55)
def sweep_publications() -> dict[str, int]:
    result = publications_sweep()
    return {"stalled": result.stalled, "requeued": result.requeued, "withdrawn": result.withdrawn}


# No retries: a batch's items retry themselves, and a lost or dead task is replaced by the sweeper. A
# message whose token is no longer the batch's (redelivered, superseded) does nothing.
@shared_task(
    name="posting.run_generation_batch",
    soft_time_limit=settings.GENERATION_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.GENERATION_TASK_TIME_LIMIT,
)
def run_generation_batch(batch_id: int, token: str) -> dict[str, object]:
    return batch_run(batch_id=batch_id, token=token).as_dict()


@shared_task(name="posting.sweep_generation_batches", soft_time_limit=50, time_limit=55, expires=55)
def sweep_generation_batches() -> dict[str, int]:
    result = batches_sweep()
    return {
        "taken_over": result.taken_over,
        "reclaimed": result.reclaimed,
        "failed": result.failed,
        "finished": result.finished,
    }
