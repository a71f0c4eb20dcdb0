"""The post lifecycle: every allowed transition, in one table.

posting/lifecycle/transitions.py applies these transitions with a compare-and-set on the current status, so
two reviewers (or a reviewer and a worker) can never both win. Nothing else changes a post's status.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from posting.models import PostStatus as S


class Action:
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    EXPIRE = "expire"
    EDIT_REOPEN = "edit_reopen"
    START_PUBLISHING = "start_publishing"
    MARK_PUBLISHED = "mark_published"
    MARK_FAILED = "mark_failed"
    RETRY = "retry"
    UNPUBLISH = "unpublish"
    REGENERATE = "regenerate"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    # The Django permission a person needs; None = system only (workers, the dispatcher).
    permission: str | None
    label: object


def _t(action: str, sources: set[str], target: str, permission: str | None, label: object) -> Transition:
    return Transition(action, frozenset(sources), target, permission, label)


REVIEW = "posting.review_post"
EDIT = "posting.change_post"
PUBLISH = "posting.publish_post"

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t(Action.SUBMIT, {S.DRAFT, S.CHANGES_REQUESTED}, S.PENDING_REVIEW, EDIT, _("Submit for review")),
        _t(Action.APPROVE, {S.PENDING_REVIEW}, S.APPROVED, REVIEW, _("Approve")),
        _t(
            Action.REJECT,
            {S.DRAFT, S.PENDING_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.SCHEDULED, S.FAILED},
            S.REJECTED,
            REVIEW,
            _("Reject"),
        ),
        _t(
            Action.REQUEST_CHANGES,
            {S.PENDING_REVIEW, S.APPROVED, S.SCHEDULED},
            S.CHANGES_REQUESTED,
            REVIEW,
            _("Request changes"),
        ),
        _t(Action.SCHEDULE, {S.APPROVED, S.SCHEDULED}, S.SCHEDULED, REVIEW, _("Schedule")),
        _t(Action.UNSCHEDULE, {S.SCHEDULED}, S.APPROVED, REVIEW, _("Unschedule")),
        _t(Action.EXPIRE, {S.DRAFT, S.PENDING_REVIEW, S.CHANGES_REQUESTED}, S.EXPIRED, None, _("Expire")),
        # An edit of approved text sends the post back to review: approval covers the words approved.
        _t(Action.EDIT_REOPEN, {S.APPROVED, S.SCHEDULED}, S.PENDING_REVIEW, EDIT, _("Edit (back to review)")),
        _t(Action.START_PUBLISHING, {S.APPROVED, S.SCHEDULED}, S.PUBLISHING, None, _("Start publishing")),
        _t(Action.MARK_PUBLISHED, {S.PUBLISHING}, S.PUBLISHED, None, _("Published")),
        _t(Action.MARK_FAILED, {S.PUBLISHING}, S.FAILED, None, _("Publishing failed")),
        _t(Action.RETRY, {S.FAILED}, S.APPROVED, REVIEW, _("Retry")),
        # The article was deleted from the platform (publishing/outbox.py records the deletion first).
        _t(Action.UNPUBLISH, {S.PUBLISHED}, S.UNPUBLISHED, PUBLISH, _("Unpublish")),
        # A reviewer's call, like a rejection: the original leaves the queue as rejected (kept, linked from
        # the new draft's ``regenerated_from``) while a new batch writes its replacement (posting/generation/regenerate.py).
        # Rejected, not a new status: scheduling's KOL allocation already ignores rejected posts.
        _t(
            Action.REGENERATE,
            {S.DRAFT, S.PENDING_REVIEW, S.CHANGES_REQUESTED},
            S.REJECTED,
            REVIEW,
            _("Regenerate"),
        ),
    ]
}

# Text can be edited in these states without a transition.
EDITABLE_STATES = frozenset({S.DRAFT, S.PENDING_REVIEW, S.CHANGES_REQUESTED})
# Editing text here sends the post back to review (EDIT_REOPEN).
REOPEN_ON_EDIT_STATES = TRANSITIONS[Action.EDIT_REOPEN].sources
