"""The outbox: every state change of a Publication, and the send itself.

States: ``pending`` -> ``sending`` -> ``published``; or ``failed_retryable`` (certainly not on the
platform; retried), ``failed_permanent`` (refused), ``unknown`` (it may be on the platform: reconcile or
an editor decides), ``cancelled`` (not sent, and why), ``deleted`` (unpublished).

The rules that make a post reach the platform exactly once:

* the publication row is written in the same transaction as the approval or the scheduling;
* the claim (pending -> sending) commits before any HTTP call, as a compare-and-set, so two workers or
  a redelivered message can never both send;
* a create that may have reached the platform (a timeout after sending, a 5xx, a worker that died while
  sending) is ``unknown`` and is never re-sent without an editor saying it is not on the forum;
* the database allows one published and one open publication per post.

This module is the outbox's front door: the rows written with the approval and the schedule, publish
now, withdraw and retry. The send itself is in posting/publishing/sending.py; reconciling an unknown
outcome, an editor's confirmation or resend, and unpublishing are in posting/publishing/reconcile.py.
Everything public is importable from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ConflictError
from posting.lifecycle import transitions
from posting.lifecycle.guards import checks_refusal
from posting.models import OPEN_PUBLICATION_STATES, Post, Publication
from posting.models import PublicationStatus as S
from posting.publishing import accounts
from posting.publishing.reconcile import (
    NO_LOOKUP,
    publication_confirm,
    publication_mark_stalled,
    publication_reconcile,
    publication_resend,
    publication_unpublish,
)
from posting.publishing.sending import (
    _READY_POST_STATES,
    PUBLISH_PERMISSION,
    PUBLISHER,
    SENDABLE,
    Outcome,
    PublishingError,
    SendResult,
    UnpublishFailed,
    _as_actor,
    _audit,
    _cancel,
    _locked,
    _require_publish_permission,
    enqueue_send,
    publication_send,
)

__all__ = [
    "NO_LOOKUP",
    "PUBLISHER",
    "PUBLISH_PERMISSION",
    "SENDABLE",
    "Outcome",
    "PublishingError",
    "SendResult",
    "UnpublishFailed",
    "enqueue_send",
    "publication_confirm",
    "publication_mark_stalled",
    "publication_prepare",
    "publication_prepare_update",
    "publication_publish_now",
    "publication_reconcile",
    "publication_resend",
    "publication_retry",
    "publication_send",
    "publication_set_due",
    "publication_unpublish",
    "publication_withdraw",
]


# --- Writing the outbox with the approval and the schedule ------------------------------------------


def _open_publication(post: Post) -> Publication | None:
    return (
        Publication.objects.select_for_update()
        .filter(post_id=post.pk, status__in=OPEN_PUBLICATION_STATES)
        .first()
    )


def publication_prepare(*, post: Post) -> Publication:
    """The post's open publication for its approved version, waiting for a time (called on approval)."""
    publication = _open_publication(post)
    if publication is None:
        account = accounts.account_for_kol(kol_id=post.kol_id)
        return Publication.objects.create(
            post=post, account=account, post_version=post.approved_version or post.version
        )
    if publication.status == S.PENDING:
        Publication.objects.filter(pk=publication.pk).update(
            post_version=post.approved_version or post.version,
            due_at=None,
            next_attempt_at=None,
            slot_at=None,
            task_eta=None,
            note="",
            updated_at=timezone.now(),
        )
        publication.refresh_from_db()
    return publication


def publication_prepare_update(*, post: Post) -> Publication:
    """An approved edit of a published post, pushed to its article now through the outbox.

    Called in the approval's transaction (posting/review/services.py post_approve_edit). The send follows
    the create's rules: claimed before the request leaves, an outcome we cannot know is ``unknown``.
    """
    original = (
        Publication.objects.filter(post_id=post.pk, status=S.PUBLISHED, kind=Publication.Kind.CREATE)
        .select_related("account")
        .first()
    )
    if original is None or (not original.is_dry_run and not post.platform_post_id):
        raise PublishingError(
            _("The post has no published article to edit: only our copy changed."), code="no_article"
        )
    open_ = _open_publication(post)
    if open_ is not None:
        if open_.status != S.PENDING or open_.kind != Publication.Kind.UPDATE:
            raise ConflictError(_("An earlier edit of this article is still being sent; try again shortly."))
        open_.delete()
    now = timezone.now()
    publication = Publication.objects.create(
        post=post,
        kind=Publication.Kind.UPDATE,
        account=original.account,
        post_version=post.approved_version or post.version,
        due_at=now,
        next_attempt_at=now,
        task_eta=now,
    )
    enqueue_send(publication.pk, at=now, now=now)
    return publication


def publication_set_due(*, post: Post, at: dt.datetime | None) -> Publication:
    """Move the open publication to the post's new time (None: unscheduled). Called with the schedule.

    A task already queued for the old time finds the publication not due and does nothing; the
    dispatcher queues a new one when the new time comes.
    """
    publication = _open_publication(post) or publication_prepare(post=post)
    if publication.status != S.PENDING:
        raise ConflictError(_("The post is already being sent."))
    Publication.objects.filter(pk=publication.pk).update(
        due_at=at, next_attempt_at=at, slot_at=None, task_eta=None, updated_at=timezone.now()
    )
    publication.refresh_from_db()
    return publication


def publication_publish_now(*, post: Post, by: Any) -> Publication:
    """Send an approved (or scheduled) post as soon as its account's pace allows."""
    actor = _as_actor(by)
    _require_publish_permission(actor)
    now = timezone.now()
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post.pk)
        if post.status not in _READY_POST_STATES:
            raise transitions.TransitionNotAllowed(
                _("Only an approved or scheduled post can be published; this one is %(status)s.")
                % {"status": post.get_status_display()}
            )
        refusal = checks_refusal(post)
        if refusal is not None:
            raise transitions.ReviewRefused(refusal[1], code=refusal[0])
        publication = publication_prepare(post=post)
        if publication.status != S.PENDING:
            raise ConflictError(_("The post is already being sent."))
        Publication.objects.filter(pk=publication.pk).update(
            due_at=now, next_attempt_at=now, slot_at=None, task_eta=now, updated_at=now
        )
        _audit(post, actor, "publish_now", _("Publish now requested."))
        enqueue_send(publication.pk, at=now, now=now)
    publication.refresh_from_db()
    return publication


def publication_withdraw(*, publication: Publication, now: dt.datetime | None = None) -> bool:
    """A waiting publication of a post that is no longer approved (rejected, sent back, edited): not sent,
    with the reason on the row and in the post's history. True when it was withdrawn."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(publication)
        if locked is None or locked[0].status != S.PENDING:
            return False
        current, post = locked
        if post.status in (*_READY_POST_STATES, Post.Status.PUBLISHING):
            return False
        _cancel(
            current,
            post,
            _("Not sent: the post is %(status)s now.") % {"status": post.get_status_display()},
            now,
        )
    return True


# --- Trying again -----------------------------------------------------------------------------------


def publication_retry(*, publication: Publication, by: Any) -> Publication:
    """Try a failed or not-sent publication again now (a failed post goes back to approved first)."""
    actor = _as_actor(by)
    _require_publish_permission(actor)
    if publication.status == S.FAILED_RETRYABLE:
        now = timezone.now()
        with transaction.atomic():
            Publication.objects.filter(pk=publication.pk, status=S.FAILED_RETRYABLE).update(
                next_attempt_at=now, task_eta=now, updated_at=now
            )
            _audit(publication.post, actor, "publish_retry", _("Retry now requested."))
            enqueue_send(publication.pk, at=now, now=now)
        publication.refresh_from_db()
        return publication
    if publication.status not in (S.FAILED_PERMANENT, S.CANCELLED):
        raise ConflictError(_("Only a failed or not-sent publication can be retried."))
    post = Post.objects.get(pk=publication.post_id)
    with transaction.atomic():
        if post.status == Post.Status.FAILED:
            post = transitions.post_retry(post=post, by=actor)
        return publication_publish_now(post=post, by=actor)
