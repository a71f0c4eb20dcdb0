"""Collecting snapshots at fixed ages: plan the due (post, slot) claims, claim one, read it, record it.

* ``snapshots_plan`` inserts one SnapshotClaim per due (post, slot); the unique (post, slot) makes two
  beats or a redelivered task plan it once.
* ``snapshot_claim_next`` takes one due claim with a compare-and-set (pending -> collecting, with a lease;
  ``SKIP LOCKED`` keeps two workers apart), so a slot is read by one worker. A worker that died leaves its
  lease to expire and another takes over; the unique (post, slot) on the snapshot still allows one row.
* ``snapshots_collect`` is one worker's loop: claim, take a read from the platform's read pace, read,
  record. A late slot is read all the same and records its real age and a late flag; nothing is
  interpolated.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import pace
from analytics.clients import Counts, ReadFailed, ReadGone
from analytics.clients.cmoney import CMoneyReader
from analytics.clients.webhook import WebhookPuller
from analytics.models import CollectionStop, InteractionSnapshot, ScoreFormula, SnapshotClaim
from analytics.scoring import formula_active, post_score_apply, score_of
from analytics.slots import is_late, longest, slots
from config.exceptions import ServiceError
from config.queue import task_enqueue_on_commit
from kols.models import PlatformAccount
from posting.lifecycle import transitions
from posting.lifecycle.transitions import Actor
from posting.models import Backend, Post, Publication, PublicationKind, PublicationStatus

logger = logging.getLogger(__name__)

COLLECTOR = Actor(label="analytics")
# Posts older than the last slot plus this are no longer planned (their last slot was missed for good).
PLAN_GRACE = dt.timedelta(days=2)
C = SnapshotClaim.Status


class Reader(Protocol):
    platform: str

    def read(self, article_id: str) -> Counts: ...


# --- Which posts have interactions --------------------------------------------------------------------


def _backends() -> list[str]:
    return [Backend.CMONEY, *([Backend.WEBHOOK] if settings.INTERACTION_WEBHOOK_PULL_URL else [])]


def collectable_posts(*, backends: list[str] | None = None) -> QuerySet[Post]:
    """Published for real (not a dry run) and still shown on the platform."""
    # The create publication: an approved edit adds an "update" one, with no article id of its own.
    real = Publication.objects.filter(
        post=OuterRef("pk"),
        kind=PublicationKind.CREATE,
        status=PublicationStatus.PUBLISHED,
        backend__in=backends or _backends(),
    )
    return Post.objects.filter(
        status=Post.Status.PUBLISHED, published_at__isnull=False, collection_stop__isnull=True
    ).filter(Exists(real))


def snapshots_plan(*, now: dt.datetime | None = None) -> int:
    """One claim per due, unplanned (post, slot); the number of (post, slot) pairs found due."""
    now = now or timezone.now()
    oldest = now - longest() - PLAN_GRACE
    found = 0
    for slot in slots():
        planned = SnapshotClaim.objects.filter(post=OuterRef("pk"), slot=slot.label)
        due = (
            collectable_posts()
            .filter(published_at__lte=now - slot.age, published_at__gte=oldest)
            .exclude(Exists(planned))
            .values_list("pk", "published_at")
        )
        rows = [
            SnapshotClaim(post_id=pk, slot=slot.label, due_at=when, next_attempt_at=when)
            for pk, published in due.iterator(chunk_size=2000)
            if published is not None and (when := published + slot.age)
        ]
        SnapshotClaim.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        found += len(rows)
    return found


# --- Claims -------------------------------------------------------------------------------------------


def _due(now: dt.datetime) -> Q:
    return Q(status=C.PENDING, next_attempt_at__lte=now) | Q(status=C.COLLECTING, lease_until__lt=now)


def snapshots_due(*, now: dt.datetime | None = None) -> bool:
    return SnapshotClaim.objects.filter(_due(now or timezone.now())).exists()


def snapshot_claim_next(*, now: dt.datetime | None = None) -> SnapshotClaim | None:
    """Take the most overdue claim (or one whose worker's lease ran out): compare-and-set to collecting."""
    now = now or timezone.now()
    with transaction.atomic():
        claim = (
            SnapshotClaim.objects.select_for_update(skip_locked=True)
            .filter(_due(now))
            .order_by("next_attempt_at")
            .first()
        )
        if claim is None:
            return None
        lease = now + dt.timedelta(seconds=settings.INTERACTION_LEASE_SECONDS)
        taken = SnapshotClaim.objects.filter(
            pk=claim.pk, status=claim.status, lease_until=claim.lease_until
        ).update(status=C.COLLECTING, lease_until=lease, attempts=F("attempts") + 1)
    if not taken:
        return None
    claim.status, claim.lease_until, claim.attempts = C.COLLECTING, lease, claim.attempts + 1
    return claim


def _give_back(claim: SnapshotClaim, *, at: dt.datetime, error: str = "", count: bool = True) -> None:
    attempts = F("attempts") if count else F("attempts") - 1
    SnapshotClaim.objects.filter(pk=claim.pk, status=C.COLLECTING).update(
        status=C.PENDING, lease_until=None, next_attempt_at=at, last_error=error, attempts=attempts
    )


def _fail(claim: SnapshotClaim, error: ReadFailed, now: dt.datetime) -> str:
    rate_limited = error.status == 429
    if not rate_limited and claim.attempts >= settings.INTERACTION_MAX_ATTEMPTS:
        SnapshotClaim.objects.filter(pk=claim.pk, status=C.COLLECTING).update(
            status=C.STOPPED, lease_until=None, last_error=error.message
        )
        return "failed"
    wait = (
        error.retry_after
        if error.retry_after is not None
        else settings.INTERACTION_RETRY_SECONDS * claim.attempts
    )
    _give_back(claim, at=now + dt.timedelta(seconds=wait), error=error.message, count=not rate_limited)
    return "retry"


# --- Reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    post: Post
    publication: Publication
    reader: Reader

    @property
    def article_id(self) -> str:
        return self.publication.platform_post_id or str(self.post.pk)


@dataclass
class LoopCache:
    """What one collector loop reads once instead of per snapshot (the reader account, the formula)."""

    formula: ScoreFormula | None = None
    reader: PlatformAccount | None = None
    reader_loaded: bool = False


def _reader_account(own: PlatformAccount | None, cache: LoopCache | None) -> PlatformAccount | None:
    if not settings.INTERACTION_READER_ACCOUNT_ID:
        return own
    if cache is None or not cache.reader_loaded:
        reader = PlatformAccount.objects.filter(pk=settings.INTERACTION_READER_ACCOUNT_ID).first()
        if cache is None:
            return reader if reader is not None and reader.has_credentials else own
        cache.reader, cache.reader_loaded = reader, True
    reader = cache.reader
    return reader if reader is not None and reader.has_credentials else own


def _published(post_id: Any) -> Publication | None:
    return (
        Publication.objects.select_related("post", "account")
        .filter(post_id=post_id, kind=PublicationKind.CREATE, status=PublicationStatus.PUBLISHED)
        .first()
    )


def target_for(
    *, post: Post, publication: Publication | None = None, cache: LoopCache | None = None
) -> Target:
    """Where the post's interactions are read; a ServiceError when they cannot be (a dry run, say)."""
    publication = publication or _published(post.pk)
    if publication is None or publication.is_dry_run:
        raise ServiceError(
            _("This post was not published on a platform (a dry run has no interactions)."),
            code="not_collectable",
        )
    if publication.backend == Backend.WEBHOOK:
        if not settings.INTERACTION_WEBHOOK_PULL_URL:
            raise ServiceError(
                _("The webhook platform has no pull URL: its interactions arrive as pushes."),
                code="not_collectable",
            )
        return Target(post, publication, WebhookPuller())
    account = _reader_account(publication.account, cache)
    if account is None or not account.has_credentials or not publication.platform_post_id:
        raise ServiceError(_("No CMoney account with a login can read this article."), code="not_collectable")
    return Target(post, publication, CMoneyReader(account=account))


# --- Recording ----------------------------------------------------------------------------------------


def snapshot_record(
    *,
    post: Post,
    counts: Any,
    captured_at: dt.datetime,
    source: str,
    slot: str = "",
    by: Any = None,
    claim: SnapshotClaim | None = None,
    formula: ScoreFormula | None = None,
) -> InteractionSnapshot:
    """Append one snapshot (scored with the active formula). Never replaces one: a taken slot or moment
    is an IntegrityError for the caller."""
    formula = formula or formula_active()
    age = int((captured_at - post.published_at).total_seconds()) if post.published_at else None
    snapshot = InteractionSnapshot(
        post=post,
        captured_at=captured_at,
        **{name: getattr(counts, name) for name in ("likes", "comments", "shares", "saves", "tips", "views")},
        reactions=dict(getattr(counts, "reactions", None) or {}),
        raw=dict(getattr(counts, "raw", None) or {}),
        slot=slot,
        age_seconds=max(age, 0) if age is not None else None,
        late=bool(slot)
        and post.published_at is not None
        and is_late(slot=slot, published_at=post.published_at, captured_at=captured_at),
        source=source,
        score=score_of(formula=formula, counts=counts),
        score_formula_version=formula.version,
        created_by=by if getattr(by, "pk", None) else None,
    )
    with transaction.atomic():
        snapshot.save()
        if claim is not None:
            SnapshotClaim.objects.filter(pk=claim.pk).update(
                status=C.DONE, lease_until=None, snapshot=snapshot, last_error=""
            )
        post_score_apply(snapshot=snapshot)
    return snapshot


def post_collection_stop(*, post: Post, reason: str, detail: str, now: dt.datetime | None = None) -> None:
    """The platform deleted the post, or moderation hid it: stop collecting and record it on the post.

    Deleted: the publication becomes deleted and the post unpublished. Hidden: the post stays published
    (the article exists; re-sending it would double-post moderated content) with a status note.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Post.objects.select_for_update().get(pk=post.pk)
        _stop, created = CollectionStop.objects.get_or_create(
            post=locked, defaults={"reason": reason, "at": now, "detail": detail}
        )
        SnapshotClaim.objects.filter(post=locked, status__in=[C.PENDING, C.COLLECTING]).update(
            status=C.STOPPED, lease_until=None, last_error=detail
        )
        if not created:
            return
        if reason == CollectionStop.Reason.DELETED:
            # Every publication of the article, the create and any pushed edits: the article is gone.
            Publication.objects.filter(post=locked, status=PublicationStatus.PUBLISHED).update(
                status=PublicationStatus.DELETED, deleted_at=now, note=detail, updated_at=now
            )
            if locked.status == Post.Status.PUBLISHED:
                transitions.post_unpublish(post=locked, by=COLLECTOR, note=detail)
                return
        Post.objects.filter(pk=locked.pk).update(status_note=detail, updated_at=now)
        transitions.audit_record(
            locked, COLLECTOR, f"platform_{reason}", locked.status, locked.status, note=detail
        )


# --- One worker ---------------------------------------------------------------------------------------


@dataclass
class CollectResult:
    collected: int = 0
    retried: int = 0
    failed: int = 0
    stopped: int = 0
    outcomes: list[str] = field(default_factory=list)


def snapshot_collect(
    *, claim: SnapshotClaim, deadline: float, reader: Reader | None = None, cache: LoopCache | None = None
) -> str:
    """Read and record one claimed slot: "collected", "retry", "failed", "stopped" or "later" (no pace left)."""
    publication = _published(claim.post_id)
    post = publication.post if publication is not None else Post.objects.get(pk=claim.post_id)
    try:
        target = target_for(post=post, publication=publication, cache=cache)
    except ServiceError as error:
        SnapshotClaim.objects.filter(pk=claim.pk).update(
            status=C.STOPPED, lease_until=None, last_error=error.message
        )
        return "stopped"
    reader = reader or target.reader
    if not pace.read_take(platform=reader.platform, deadline=deadline):
        _give_back(claim, at=timezone.now(), count=False)
        return "later"
    try:
        counts = reader.read(target.article_id)
    except ReadGone as gone:
        post_collection_stop(post=post, reason=gone.reason, detail=gone.message)
        return "stopped"
    except ReadFailed as error:
        if error.status == 429:
            # The platform's "slow down" holds for every reader of it, not just this slot.
            pace.read_pause(
                platform=reader.platform, seconds=error.retry_after or settings.INTERACTION_RETRY_SECONDS
            )
        return _fail(claim, error, timezone.now())
    try:
        snapshot_record(
            post=post, counts=counts, captured_at=timezone.now(), source=InteractionSnapshot.Source.SCHEDULED,
            slot=claim.slot, claim=claim, formula=cache.formula if cache else None,
        )  # fmt: skip
    except IntegrityError:
        if not InteractionSnapshot.objects.filter(post=post, slot=claim.slot).exists():
            # Same post, same instant (another snapshot of it was stored this very moment): read again.
            _give_back(claim, at=timezone.now() + dt.timedelta(seconds=1), count=False)
            return "retry"
        # Another worker took over an expired lease and recorded the slot first: one snapshot stays.
        SnapshotClaim.objects.filter(pk=claim.pk, status=C.COLLECTING).update(status=C.DONE, lease_until=None)
    return "collected"


def snapshots_collect(*, budget_seconds: float, reader: Reader | None = None) -> CollectResult:
    """Collect due slots until none is due or the budget is spent (one worker; run several side by side)."""
    deadline = time.monotonic() + budget_seconds
    result = CollectResult()
    cache = LoopCache(formula=formula_active())
    while time.monotonic() < deadline:
        claim = snapshot_claim_next()
        if claim is None:
            break
        try:
            outcome = snapshot_collect(claim=claim, deadline=deadline, reader=reader, cache=cache)
        except Exception:
            logger.exception("Collecting snapshot claim %s failed", claim.pk)
            _give_back(claim, at=timezone.now() + dt.timedelta(seconds=settings.INTERACTION_RETRY_SECONDS))
            outcome = "retry"
        result.outcomes.append(outcome)
        if outcome == "later":
            break
        setattr(
            result, _COUNTERS.get(outcome, "retried"), getattr(result, _COUNTERS.get(outcome, "retried")) + 1
        )
    return result


_COUNTERS = {"collected": "collected", "retry": "retried", "failed": "failed", "stopped": "stopped"}


# --- The minute dispatcher ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchResult:
    planned: int
    workers: int


def snapshots_dispatch(*, now: dt.datetime | None = None) -> DispatchResult:
    """Plan what fell due and start the collector workers when anything is due. Never sends a publish."""
    now = now or timezone.now()
    planned = snapshots_plan(now=now)
    if not snapshots_due(now=now):
        return DispatchResult(planned=planned, workers=0)
    for _n in range(settings.INTERACTION_COLLECT_WORKERS):
        task_enqueue_on_commit("analytics.collect_snapshots")
    return DispatchResult(planned=planned, workers=settings.INTERACTION_COLLECT_WORKERS)
