"""The post's state machine at work: who acts, the guarded compare-and-set step, and the audit trail.

Every concern changes a post's status through ``transition_apply`` (the review desk in
posting/review/services.py, the outbox in posting/publishing/). Each transition is a compare-and-set on the
current status (and, where a person acted on what they saw, on the version), inside a transaction that also
writes the audit event, so two reviewers, or a reviewer and a worker, can never both win.

The transitions the publisher drives live here too: publishing sits below the review desk (an approval
creates the outbox row in its own transaction), so it may not import the review services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ConflictError, ServiceError
from posting.lifecycle.stance import stance_ledger_record
from posting.lifecycle.table import TRANSITIONS, Action
from posting.models import AuditEvent, Post

User = AbstractBaseUser | AnonymousUser


class TransitionNotAllowed(ConflictError):
    code = "transition_not_allowed"


class EditConflict(ConflictError):
    code = "edit_conflict"


class ReviewRefused(ServiceError):
    code = "review_refused"
    status_code = 409


class NotPermitted(ServiceError):
    code = "permission_denied"
    status_code = 403


@dataclass(frozen=True)
class Actor:
    """Who acts: a person, or the system under a label ("schedule:12", "dispatcher")."""

    user: Any = None
    label: str = ""

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    def name(self) -> str:
        return self.user.get_username() if self.user is not None else self.label


def as_actor(by: Any) -> Actor:
    if isinstance(by, Actor):
        return by
    if by is None:
        raise ValueError("Every state change needs an actor: a user or Actor(label=...).")
    return Actor(user=by)


def require_permission(actor: Actor, permission: str | None, action: str) -> None:
    if actor.user is None:
        return  # the system acts under its label
    if permission is None or not actor.user.has_perm(permission):
        raise NotPermitted(_("You do not have permission to %(action)s posts.") % {"action": action})


def transition_permission_check(*, by: Any, action: str) -> Actor:
    """The actor, once it is known they may take ``action`` (for services that act on many posts at once)."""
    actor = as_actor(by)
    transition = TRANSITIONS[action]
    require_permission(actor, transition.permission, str(transition.label).lower())
    return actor


def status_label(status: str) -> str:
    return str(Post.Status(status).label) if status in Post.Status.values else status


def transition_refusal(post_id: Any, action: str) -> TransitionNotAllowed:
    current = Post.objects.filter(pk=post_id).values_list("status", flat=True).first()
    label = TRANSITIONS[action].label
    if current is None:
        return TransitionNotAllowed(_("The post no longer exists."))
    return TransitionNotAllowed(
        _("Cannot %(action)s: the post is %(status)s.")
        % {"action": str(label).lower(), "status": status_label(current)}
    )


def audit_record(
    post: Post, actor: Actor, action: str, from_status: str, to_status: str, **extra: Any
) -> AuditEvent:
    return AuditEvent.objects.create(
        post=post,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor.user if actor.user is not None else None,
        actor_label=actor.label,
        version=post.version,
        **extra,
    )


def transition_apply(
    *,
    post: Post,
    action: str,
    by: Any,
    note: str = "",
    guard: dict[str, Any] | None = None,
    updates: dict[str, Any] | None = None,
) -> tuple[Post, AuditEvent]:
    """Compare-and-set the status from one of the action's sources to its target, and audit it."""
    transition = TRANSITIONS[action]
    actor = as_actor(by)
    require_permission(actor, transition.permission, str(transition.label).lower())
    now = timezone.now()
    with transaction.atomic():
        current = Post.objects.filter(pk=post.pk).values_list("status", flat=True).first()
        changed = Post.objects.filter(pk=post.pk, status__in=transition.sources, **(guard or {})).update(
            status=transition.target, updated_at=now, **(updates or {})
        )
        if not changed:
            if current in transition.sources and guard:
                raise EditConflict(
                    _(
                        "The post changed since you opened it (now version %(version)s). Reload and review it again."
                    )
                    % {"version": Post.objects.filter(pk=post.pk).values_list("version", flat=True).first()}
                )
            raise transition_refusal(post.pk, action)
        post.refresh_from_db()
        event = audit_record(post, actor, action, current or "", transition.target, note=note)
    return post, event


# --- Publishing (driven by posting/publishing/) ------------------------------------------------------


def post_start_publishing(*, post: Post, by: Any, version: int) -> Post:
    """The claim of a send: only the approved version, unchanged since approval, starts publishing."""
    return transition_apply(
        post=post,
        action=Action.START_PUBLISHING,
        by=by,
        guard={"version": version, "approved_version": version, "checked_version": version},
        updates={"publish_error": ""},
    )[0]


def post_mark_published(
    *, post: Post, by: Any, platform_post_id: str, platform_post_url: str, at: dt.datetime, note: str = ""
) -> Post:
    """Published: the post's stance on its stock goes into the ledger (posting/lifecycle/stance.py)."""
    published = transition_apply(
        post=post,
        action=Action.MARK_PUBLISHED,
        by=by,
        note=note,
        updates={
            "published_at": at,
            "platform_post_id": platform_post_id,
            "platform_post_url": platform_post_url,
            "publish_error": "",
        },
    )[0]
    stance_ledger_record(post=published, at=at)
    return published


def post_mark_failed(*, post: Post, by: Any, error: str) -> Post:
    return transition_apply(
        post=post, action=Action.MARK_FAILED, by=by, note=error, updates={"publish_error": error}
    )[0]


def post_unpublish(*, post: Post, by: Any, note: str) -> Post:
    """The post's article was deleted from the platform: published -> unpublished, with the outcome noted."""
    return transition_apply(post=post, action=Action.UNPUBLISH, by=by, note=note)[0]


def post_retry(*, post: Post, by: Any) -> Post:
    """A failed post goes back to approved (its approval still covers the unchanged text)."""
    return transition_apply(post=post, action=Action.RETRY, by=by, guard={"approved_version": post.version})[
        0
    ]
