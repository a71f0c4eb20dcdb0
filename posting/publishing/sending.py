"""The send of one publication, and what every state change of the outbox shares.

``publication_send`` is what the publish task runs: the checks, the pace and the claim commit first (the
claim is a compare-and-set, pending -> sending, so two workers or a redelivered message can never both
send); then the request; then its outcome, recorded in a second transaction. Also here: the actor,
permission and audit helpers, ``enqueue_send`` and the row locks that posting/publishing/outbox.py and
posting/publishing/reconcile.py build on.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from config.queue import task_enqueue_on_commit
from kols.models import KOL, PlatformAccount
from posting.lifecycle import transitions
from posting.lifecycle.guards import checks_refusal
from posting.lifecycle.transitions import Actor, NotPermitted
from posting.models import AuditEvent, Post, Publication, PublishAttempt
from posting.models import PublicationStatus as S
from posting.publishing import accounts, pace
from posting.publishing.backends import Outgoing, Publisher, SendFailed, Sent, outgoing_for, publisher_for
from posting.tags import TagError

logger = logging.getLogger(__name__)

PUBLISHER = Actor(label="publisher")
PUBLISH_PERMISSION = "posting.publish_post"
SENDABLE = (S.PENDING, S.FAILED_RETRYABLE)
_READY_POST_STATES = (Post.Status.APPROVED, Post.Status.SCHEDULED)
Outcome = PublishAttempt.Outcome


class PublishingError(ServiceError):
    code = "publishing_error"


class UnpublishFailed(ServiceError):
    code = "unpublish_failed"
    status_code = 502


@dataclass(frozen=True)
class SendResult:
    """What one run of the publish task did. ``come_back_at``: a task is already queued for then."""

    status: str
    detail: str = ""
    come_back_at: dt.datetime | None = None


def _as_actor(by: Any) -> Actor:
    if isinstance(by, Actor):
        return by
    if by is None:
        raise ValueError("Every state change needs an actor: a user or Actor(label=...).")
    return Actor(user=by)


def _require_publish_permission(actor: Actor) -> None:
    if actor.user is not None and not actor.user.has_perm(PUBLISH_PERMISSION):
        raise NotPermitted(_("You do not have permission to publish or unpublish posts."))


def _audit(post: Post, actor: Actor, action: str, note: str, *, to_status: str | None = None) -> None:
    status = Post.objects.filter(pk=post.pk).values_list("status", flat=True).first() or post.status
    AuditEvent.objects.create(
        post_id=post.pk,
        action=action,
        from_status=status,
        to_status=to_status or status,
        actor=actor.user,
        actor_label=actor.label,
        note=note,
        version=post.version,
    )


def enqueue_send(publication_id: int, *, at: dt.datetime, now: dt.datetime) -> None:
    """Queue the publish task after the surrounding transaction commits (now, or ``at``).

    A broker outage must not undo what committed; the sweeper re-queues from task_eta.
    """
    countdown = max(0.0, (at - now).total_seconds())
    task_enqueue_on_commit("posting.publish_publication", args=(publication_id,), countdown=countdown)


# --- The send ---------------------------------------------------------------------------------------


@dataclass
class _Gate:
    result: SendResult | None = None
    publication: Publication | None = None
    publisher: Publisher | None = None
    outgoing: Outgoing | None = None


def publication_send(*, publication_id: int) -> SendResult:
    """Send one publication if it is due, still wanted and its pace allows; otherwise say why not.

    Everything before the HTTP call (the checks, the pace, the claim) commits first; the outcome is
    recorded in a second transaction.
    """
    gate = _gate(publication_id)
    if gate.result is not None:
        return gate.result
    assert gate.publication is not None and gate.publisher is not None and gate.outgoing is not None
    return _deliver(gate.publication, gate.publisher, gate.outgoing)


def _gate(publication_id: int) -> _Gate:
    with transaction.atomic():
        post_id = Publication.objects.filter(pk=publication_id).values_list("post_id", flat=True).first()
        if post_id is None:
            return _Gate(SendResult("missing", _("The publication no longer exists (the post was deleted).")))
        # Lock order everywhere: the post, then the account. Every change of a publication's status
        # happens under its post's lock, so what is read below cannot change until this commits.
        post = Post.objects.select_for_update().select_related("kol").filter(pk=post_id).first()
        publication = Publication.objects.select_related("account").filter(pk=publication_id).first()
        if post is None or publication is None:
            return _Gate(SendResult("missing", _("The publication no longer exists (the post was deleted).")))
        now = timezone.now()
        if publication.status not in SENDABLE:
            message = _("Nothing to do: it is already %(status)s.") % {
                "status": publication.get_status_display()
            }
            return _Gate(SendResult(publication.status, message))
        if (
            publication.due_at is None
            or (publication.next_attempt_at or publication.due_at) > now + pace.EARLY
        ):
            return _Gate(SendResult(publication.status, _("Not due yet.")))
        publication.post = post
        reason = _why_not(publication, post, now)
        if reason:
            _cancel(publication, post, reason, now)
            return _Gate(SendResult(S.CANCELLED, reason))
        return _pace_and_claim(publication, post)


def _pace_and_claim(publication: Publication, post: Post) -> _Gate:
    if publication.account_id is None:
        account = accounts.account_for_kol(kol_id=post.kol_id)
        if account is not None:
            Publication.objects.filter(pk=publication.pk).update(account=account)
            publication.account = account
    subject = pace.lock_subject(publication)
    now = timezone.now()  # after the locks: the pace compares it with other workers' sends
    come_back = pace.account_wait(publication=publication, subject=subject, now=now)
    if come_back is not None:
        return _Gate(_wait(publication, come_back, now, _("Waiting for the account's pace.")))
    account = subject if isinstance(subject, PlatformAccount) else None
    try:
        publisher = publisher_for(kol=post.kol, account=account)
        outgoing = outgoing_for(publication_id=publication.pk, post=post)
    except (SendFailed, TagError) as error:
        reason = getattr(error, "message", str(error))
        _cancel(publication, post, reason, now)
        return _Gate(SendResult(S.CANCELLED, reason))
    halt = None if publisher.dry_run else accounts.platform_halted(platform=publisher.backend)
    if halt is not None:
        at = now + dt.timedelta(seconds=accounts.HALT_RECHECK_SECONDS)
        why = _("Sending to %(platform)s is halted until an operator fixes the configuration: %(reason)s") % {
            "platform": publisher.backend,
            "reason": halt.reason,
        }
        return _Gate(_wait(publication, at, now, why))
    platform_seconds = pace.platform_wait(backend=publisher.backend, now=now)
    if platform_seconds > 0:
        at = now + dt.timedelta(seconds=platform_seconds)
        return _Gate(_wait(publication, at, now, _("Waiting for the platform-wide rate.")))
    if not _claim(publication, post, publisher, outgoing, now):
        return _Gate(SendResult(publication.status, _("Another worker claimed it first.")))
    return _Gate(publication=publication, publisher=publisher, outgoing=outgoing)


def _why_not(publication: Publication, post: Post, now: dt.datetime) -> str:
    """Why this publication must not go out now; empty when it may."""
    resend = post.status == Post.Status.PUBLISHING and publication.attempt_count > 0
    if publication.kind == Publication.Kind.UPDATE:
        if post.status != Post.Status.PUBLISHED:
            return _("Not sent: the edit is for a published article and the post is %(status)s now.") % {
                "status": post.get_status_display()
            }
    elif post.status not in _READY_POST_STATES and not resend:
        return _("Not sent: the post is %(status)s now.") % {"status": post.get_status_display()}
    if post.version != publication.post_version or post.approved_version != publication.post_version:
        return _(
            "Not sent: the text changed after approval (v%(approved)s was approved, the post is v%(now)s)."
        ) % {
            "approved": publication.post_version,
            "now": post.version,
        }
    # Under the post's lock: what goes out is the approved version, and the checks cleared that version.
    refusal = checks_refusal(post)
    if refusal is not None:
        return _("Not sent: %(reason)s") % {"reason": refusal[1]}
    if post.kol.status != KOL.Status.ACTIVE:
        return _("Not sent: the KOL %(kol)s is paused.") % {"kol": post.kol.nickname}
    account = publication.account
    if account is not None and account.status != PlatformAccount.Status.ACTIVE:
        return _("Not sent: the platform account is paused (%(reason)s).") % {"reason": account.paused_reason}
    assert publication.due_at is not None
    cutoff = publication.due_at + dt.timedelta(minutes=settings.PUBLISH_CUTOFF_MINUTES)
    if now > cutoff:
        return _("Not sent: too late. It was due at %(due)s and the cut-off is %(minutes)d minutes.") % {
            "due": timezone.localtime(publication.due_at).strftime("%Y-%m-%d %H:%M"),
            "minutes": settings.PUBLISH_CUTOFF_MINUTES,
        }
    return ""


def _cancel(publication: Publication, post: Post, reason: str, now: dt.datetime) -> None:
    changed = Publication.objects.filter(pk=publication.pk, status__in=SENDABLE).update(
        status=S.CANCELLED, note=reason, finished_at=now, slot_at=None, task_eta=None, updated_at=now
    )
    if not changed:
        return
    if post.status == Post.Status.PUBLISHING:
        transitions.post_mark_failed(post=post, by=PUBLISHER, error=reason)
    else:
        _audit(post, PUBLISHER, "publish_cancelled", reason)


def _wait(publication: Publication, at: dt.datetime, now: dt.datetime, why: str) -> SendResult:
    """Come back at ``at``: on a delayed task when that is soon, else through the minute dispatcher."""
    soon = (at - now).total_seconds() <= settings.PUBLISH_MAX_COUNTDOWN_SECONDS
    Publication.objects.filter(pk=publication.pk).update(next_attempt_at=at, task_eta=at if soon else None)
    if soon:
        enqueue_send(publication.pk, at=at, now=now)
    return SendResult(publication.status, why, come_back_at=at)


def _claim(
    publication: Publication, post: Post, publisher: Publisher, outgoing: Outgoing, now: dt.datetime
) -> bool:
    """pending -> sending, committed before the request leaves; the post starts publishing with it."""
    changed = Publication.objects.filter(pk=publication.pk, status__in=SENDABLE).update(
        status=S.SENDING,
        claimed_at=now,
        attempt_count=F("attempt_count") + 1,
        backend=publisher.backend,
        dry_run_reason=getattr(publisher, "reason", ""),
        request_payload=(
            publisher.request_update(outgoing, post.platform_post_id)
            if publication.kind == Publication.Kind.UPDATE
            else publisher.request(outgoing)
        ),
        slot_at=None,
        task_eta=None,
        next_attempt_at=None,
        updated_at=now,
    )
    if not changed:
        return False
    if post.status in _READY_POST_STATES:
        transitions.post_start_publishing(post=post, by=PUBLISHER, version=publication.post_version)
    publication.refresh_from_db()
    return True


def _deliver(publication: Publication, publisher: Publisher, outgoing: Outgoing) -> SendResult:
    def departed() -> None:
        # A login may come between the claim and the create: the gap counts from the create leaving.
        Publication.objects.filter(pk=publication.pk, status=S.SENDING).update(claimed_at=timezone.now())

    publisher.on_departure = departed
    try:
        if publication.kind == Publication.Kind.UPDATE:
            sent = publisher.update(outgoing, publication.post.platform_post_id)
        else:
            sent = publisher.create(outgoing)
    except SendFailed as failure:
        return _record_failure(publication, publisher, failure)
    except SoftTimeLimitExceeded:
        return _record_failure(
            publication,
            publisher,
            _interrupted(publisher, _("The publish task ran out of time while sending.")),
        )
    except Exception as error:
        logger.exception("Publishing publication %s failed unexpectedly", publication.pk)
        message = _("Unexpected error while sending: %(error)s") % {"error": type(error).__name__}
        return _record_failure(publication, publisher, _interrupted(publisher, message))
    return _record_success(publication, publisher, sent)


def _interrupted(publisher: Publisher, message: str) -> SendFailed:
    """A send cut short by us: unknown once the create may have left, else simply retried."""
    return SendFailed(message, outcome=Outcome.UNKNOWN if publisher.create_started else Outcome.RETRYABLE)


def _save_attempts(publication: Publication, publisher: Publisher) -> int | None:
    PublishAttempt.objects.bulk_create(
        PublishAttempt(
            publication_id=publication.pk,
            kind=exchange.kind,
            outcome=exchange.outcome,
            dry_run=exchange.dry_run,
            started_at=exchange.started_at,
            duration_ms=exchange.duration_ms,
            http_status=exchange.http_status,
            error=exchange.error,
        )
        for exchange in publisher.exchanges
    )
    publisher.exchanges.clear()
    statuses = [attempt.http_status for attempt in publication.attempts.order_by("-started_at", "-id")[:1]]
    return statuses[0] if statuses else None


def _locked(publication: Publication) -> tuple[Publication, Post] | None:
    """The publication and its post, locked (post first), or None when the post was deleted meanwhile."""
    post = Post.objects.select_for_update().filter(pk=publication.post_id).first()
    current = Publication.objects.select_for_update().filter(pk=publication.pk).first()
    if post is None or current is None:
        return None
    return current, post


def _record_success(publication: Publication, publisher: Publisher, sent: Sent) -> SendResult:
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(publication)
        if locked is None:
            logger.error(
                "Publication %s vanished while sending; the platform has article %r for it",
                publication.pk,
                sent.platform_post_id,
            )
            return SendResult("missing", _("The post was deleted while it was being sent."))
        current, post = locked
        status = _save_attempts(current, publisher)
        if current.kind == Publication.Kind.UPDATE:
            return _record_update_success(current, post, publisher, sent, status, now)
        changed = Publication.objects.filter(pk=current.pk, status__in=(S.SENDING, S.UNKNOWN)).update(
            status=S.PUBLISHED,
            platform_post_id=sent.platform_post_id,
            platform_post_url=sent.url,
            finished_at=now,
            last_http_status=status,
            last_error="",
            updated_at=now,
        )
        if not changed:
            logger.error("Publication %s was %s when its send succeeded", current.pk, current.status)
            return SendResult(current.status, _("The send succeeded but the publication had moved on."))
        note = (
            _("Dry run: nothing was sent (%(reason)s).") % {"reason": current.dry_run_reason}
            if publisher.dry_run
            else sent.url
        )
        if post.status == Post.Status.PUBLISHING:
            transitions.post_mark_published(
                post=post, by=PUBLISHER, platform_post_id=sent.platform_post_id, platform_post_url=sent.url, at=now,
                note=note,
            )  # fmt: skip
    return SendResult(S.PUBLISHED, note)


def _record_update_success(
    publication: Publication,
    post: Post,
    publisher: Publisher,
    sent: Sent,
    status: int | None,
    now: dt.datetime,
) -> SendResult:
    """The approved edit reached the article. The post stays published; the edit row keeps no platform id
    (the create's row owns the article)."""
    Publication.objects.filter(pk=publication.pk, status__in=(S.SENDING, S.UNKNOWN)).update(
        status=S.PUBLISHED, platform_post_url=sent.url, finished_at=now, last_http_status=status, last_error="",
        updated_at=now,
    )  # fmt: skip
    note = (
        _("Dry run: the edit was not sent (%(reason)s).") % {"reason": publication.dry_run_reason}
        if publisher.dry_run
        else _("The approved edit (v%(version)s) is on the platform: %(url)s")
        % {"version": publication.post_version, "url": sent.url}
    )
    _audit(post, PUBLISHER, "edit_published", note)
    return SendResult(S.PUBLISHED, note)


def _record_failure(publication: Publication, publisher: Publisher, failure: SendFailed) -> SendResult:
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(publication)
        if locked is None:
            return SendResult("missing", _("The post was deleted while it was being sent."))
        current, post = locked
        _save_attempts(current, publisher)
        outcome, message, retry_at = _next_step(current, failure, now)
        fields: dict[str, Any] = {
            "last_http_status": failure.http_status,
            "last_error": message,
            "updated_at": now,
        }
        if outcome == Outcome.RETRYABLE:
            return _to_retryable(current, retry_at, fields, now)
        if outcome == Outcome.PERMANENT:
            Publication.objects.filter(pk=current.pk, status=S.SENDING).update(
                status=S.FAILED_PERMANENT, finished_at=now, **fields
            )
            if post.status == Post.Status.PUBLISHING:
                transitions.post_mark_failed(post=post, by=PUBLISHER, error=message)
            return SendResult(S.FAILED_PERMANENT, message)
        Publication.objects.filter(pk=current.pk, status=S.SENDING).update(status=S.UNKNOWN, **fields)
        _audit(post, PUBLISHER, "publish_unknown", message)
    return SendResult(S.UNKNOWN, message)


def _next_step(
    publication: Publication, failure: SendFailed, now: dt.datetime
) -> tuple[str, str, dt.datetime]:
    """The outcome to record, its message, and (for a retry) when."""
    message = failure.message
    if failure.account_paused:
        message = _("%(error)s The account is now paused.") % {"error": message}
    if failure.outcome == Outcome.UNKNOWN:
        message = _(
            "%(error)s The article may be on the platform. It is not sent again: check the forum and confirm."
        ) % {"error": message}
        return Outcome.UNKNOWN, message, now
    if failure.outcome != Outcome.RETRYABLE:
        return Outcome.PERMANENT, message, now
    backoff = settings.PUBLISH_RETRY_BACKOFF_SECONDS * 2 ** max(0, publication.attempt_count - 1)
    retry_at = now + dt.timedelta(seconds=failure.retry_after if failure.retry_after is not None else backoff)
    if failure.retry_after is not None and publication.account is not None:
        accounts.account_rate_limited(account=publication.account, until=retry_at)
    assert publication.due_at is not None
    cutoff = publication.due_at + dt.timedelta(minutes=settings.PUBLISH_CUTOFF_MINUTES)
    if publication.attempt_count >= settings.PUBLISH_MAX_ATTEMPTS:
        return Outcome.PERMANENT, _("%(error)s Gave up after %(count)d sends.") % {
            "error": message, "count": publication.attempt_count
        }, now  # fmt: skip
    if retry_at > cutoff:
        return (
            Outcome.PERMANENT,
            _("%(error)s The next try would be after the cut-off.") % {"error": message},
            now,
        )
    return Outcome.RETRYABLE, message, retry_at


def _to_retryable(
    publication: Publication, retry_at: dt.datetime, fields: dict[str, Any], now: dt.datetime
) -> SendResult:
    soon = (retry_at - now).total_seconds() <= settings.PUBLISH_MAX_COUNTDOWN_SECONDS
    Publication.objects.filter(pk=publication.pk, status=S.SENDING).update(
        status=S.FAILED_RETRYABLE, next_attempt_at=retry_at, task_eta=retry_at if soon else None, **fields
    )
    if soon:
        enqueue_send(publication.pk, at=retry_at, now=now)
    return SendResult(S.FAILED_RETRYABLE, str(fields["last_error"]), come_back_at=retry_at)
