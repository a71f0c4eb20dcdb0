"""A batch item's bookkeeping, shared by the runner (which works items) and the sweeper (which takes
over from a dead runner): how many attempts an item gets, whether it is still ours, and recording a failure
as a retry with backoff or as final.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from posting.models import BatchItem, GenerationBatch

ItemStatus = BatchItem.Status
Outcome = Literal["succeeded", "failed", "retrying", "lost"]


def item_max_attempts() -> int:
    return 1 + settings.GENERATION_ITEM_RETRIES


class ItemLost(Exception):
    """The item is no longer claimed by us: the sweeper gave it to another task."""


def item_still_ours(item: BatchItem) -> Q:
    return Q(pk=item.pk, status=ItemStatus.RUNNING, claim_token=item.claim_token)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.GENERATION_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def item_record_failure(
    *, item: BatchItem, message: str, code: str, retryable: bool, now: dt.datetime | None = None
) -> Outcome:
    """Back to pending with a backoff (retryable, attempts left, batch not cancelled), else failed."""
    now = now or timezone.now()
    with transaction.atomic():
        # Locking the batch row orders this against a cancel: a cancelled batch gets no retries.
        status = (
            GenerationBatch.objects.select_for_update()
            .filter(pk=item.batch_id)
            .values_list("status", flat=True)
        )
        cancelled = status.first() == GenerationBatch.Status.CANCELLED
        if retryable and not cancelled and item.attempts < item_max_attempts():
            retried = BatchItem.objects.filter(item_still_ours(item)).update(
                status=ItemStatus.PENDING,
                claim_token="",
                next_attempt_at=now + _backoff(item.attempts),
                error=message,
                error_code=code,
            )
            return "retrying" if retried else "lost"
        if retryable and item.attempts > 1:
            message = _("After %(n)d attempts: %(error)s") % {"n": item.attempts, "error": message}
        failed = BatchItem.objects.filter(item_still_ours(item)).update(
            status=ItemStatus.FAILED, finished_at=now, error=message, error_code=code
        )
        if not failed:
            return "lost"
        GenerationBatch.objects.filter(pk=item.batch_id).update(failed_count=F("failed_count") + 1)
    return "failed"
