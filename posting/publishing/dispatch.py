"""What beat runs every minute: the dispatcher (queue what is due) and the sweeper (repair what a lost
message or a dead worker left behind).

The dispatcher claims due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and marks them queued
(``task_eta``) in the same transaction that queues their tasks (after commit), so two dispatchers never
queue one publication twice; if they did, the send's own compare-and-set would still let only one
through.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from posting.models import Post, Publication
from posting.models import PublicationStatus as S
from posting.publishing.outbox import SENDABLE, enqueue_send, publication_mark_stalled, publication_withdraw

# Posts whose pending publication may still go out.
_WANTED = (Post.Status.APPROVED, Post.Status.SCHEDULED, Post.Status.PUBLISHING)


def stale_sending_after() -> dt.timedelta:
    """A ``sending`` row older than this outlived the publish task's hard time limit: its worker died."""
    return dt.timedelta(seconds=settings.PUBLISH_TASK_TIME_LIMIT + 30)


def _queue(ids: list[int], now: dt.datetime) -> None:
    Publication.objects.filter(pk__in=ids).update(task_eta=now)
    for publication_id in ids:
        enqueue_send(publication_id, at=now, now=now)


def publications_dispatch(*, now: dt.datetime | None = None) -> int:
    """Queue one publish task for every publication that is due and has none queued. Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Publication.objects.select_for_update(skip_locked=True)
            .filter(status__in=SENDABLE, due_at__lte=now, task_eta__isnull=True)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("due_at", "id")
            .values_list("pk", flat=True)[: settings.PUBLISH_DISPATCH_LIMIT]
        )
        _queue(ids, now)
    return len(ids)


@dataclass(frozen=True)
class SweepResult:
    stalled: int
    requeued: int
    withdrawn: int


def publications_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Repair three things: sends whose worker died (-> unknown, or again for a dry run), queued tasks the
    broker lost (queued again), and waiting publications of posts that are no longer approved (not sent,
    with the reason)."""
    now = now or timezone.now()
    limit = settings.PUBLISH_DISPATCH_LIMIT
    stalled = Publication.objects.filter(status=S.SENDING, claimed_at__lt=now - stale_sending_after())
    stalled_count = sum(
        1 for publication in stalled[:limit] if publication_mark_stalled(publication=publication, now=now)
    )
    grace = now - dt.timedelta(seconds=settings.PUBLISH_REQUEUE_GRACE_SECONDS)
    with transaction.atomic():
        lost = list(
            Publication.objects.select_for_update(skip_locked=True)
            .filter(status__in=SENDABLE, task_eta__lt=grace)
            .order_by("task_eta", "id")
            .values_list("pk", flat=True)[:limit]
        )
        _queue(lost, now)
    unwanted = (
        Publication.objects.filter(status=S.PENDING).exclude(post__status__in=_WANTED).select_related("post")
    )
    withdrawn = sum(
        1 for publication in unwanted[:limit] if publication_withdraw(publication=publication, now=now)
    )
    return SweepResult(stalled=stalled_count, requeued=len(lost), withdrawn=withdrawn)
