"""Every state change of a post. Admin actions, API endpoints and tasks all call these.

Each transition is a compare-and-set on the current status (and, where a person acted on what they saw,
on the version), inside a transaction that also writes the audit event. Two reviewers, or a reviewer and
a worker, can never both win.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ConflictError, ServiceError
from posting.lifecycle import (
    EDITABLE_STATES,
    REOPEN_ON_EDIT_STATES,
    TRANSITIONS,
    Action,
)
from posting.models import Approval, AuditEvent, Post, PostRevision

logger = logging.getLogger(__name__)

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


def _actor(by: Any) -> Actor:
    if isinstance(by, Actor):
        return by
    if by is None:
        raise ValueError("Every state change needs an actor: a user or Actor(label=...).")
    return Actor(user=by)


def _require_permission(actor: Actor, permission: str | None, action: str) -> None:
    if actor.user is None:
        return  # the system acts under its label
    if permission is None or not actor.user.has_perm(permission):
        raise NotPermitted(_("You do not have permission to %(action)s posts.") % {"action": action})


def transition_permission_check(*, by: Any, action: str) -> Actor:
    """The actor, once it is known they may take ``action`` (for services that act on many posts at once)."""
    actor = _actor(by)
    transition = TRANSITIONS[action]
    _require_permission(actor, transition.permission, str(transition.label).lower())
    return actor


def _status_label(status: str) -> str:
    return str(Post.Status(status).label) if status in Post.Status.values else status


def _refuse_transition(post_id: Any, action: str) -> TransitionNotAllowed:
    current = Post.objects.filter(pk=post_id).values_list("status", flat=True).first()
    label = TRANSITIONS[action].label
    if current is None:
        return TransitionNotAllowed(_("The post no longer exists."))
    return TransitionNotAllowed(
        _("Cannot %(action)s: the post is %(status)s.")
        % {"action": str(label).lower(), "status": _status_label(current)}
    )


def _record(
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


def _transition(
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
    actor = _actor(by)
    _require_permission(actor, transition.permission, str(transition.label).lower())
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
            raise _refuse_transition(post.pk, action)
        post.refresh_from_db()
        event = _record(post, actor, action, current or "", transition.target, note=note)
    return post, event


# --- Creating drafts --------------------------------------------------------------------------------


def post_create_draft(*, status: str = Post.Status.PENDING_REVIEW, by: Any = None, **fields: Any) -> Post:
    """Create a draft (generation, a person, the demo command) with its original text as revision 1.

    Generation never approves or publishes: only draft and pending_review are accepted here.
    """
    if status not in (Post.Status.DRAFT, Post.Status.PENDING_REVIEW):
        raise ServiceError(_("A new post starts as a draft or pending review."), code="invalid_status")
    actor = _actor(by) if by is not None else Actor(label="generator")
    with transaction.atomic():
        post = Post.objects.create(status=status, **fields)
        PostRevision.objects.create(
            post=post,
            version=post.version,
            title=post.title,
            body=post.body,
            edited_by=actor.user,
            source=PostRevision.Source.GENERATED
            if post.generator != Post.Generator.HUMAN
            else PostRevision.Source.EDIT,
        )
        _record(post, actor, "create", "", status)
    return post


# --- Review -----------------------------------------------------------------------------------------


def post_submit(*, post: Post, by: Any) -> Post:
    return _transition(post=post, action=Action.SUBMIT, by=by)[0]


def post_approve(*, post: Post, by: Any, expected_version: int | None = None, note: str = "") -> Post:
    """Approve the version the reviewer saw. Refuses self-approval, blocking findings and stale versions."""
    actor = _actor(by)
    _require_permission(actor, TRANSITIONS[Action.APPROVE].permission, str(_("approve")))
    post.refresh_from_db()
    if (
        actor.user is not None
        and post.text_edited_by_id == actor.user_id
        and not settings.REVIEW_ALLOW_SELF_APPROVAL
    ):
        raise ReviewRefused(
            _("You last changed this post's text, so someone else must approve it."), code="self_approval"
        )
    if post.has_blocking_finding:
        raise ReviewRefused(
            _("The post has a blocking finding; edit the text until the checks pass."),
            code="blocking_findings",
        )
    version = expected_version if expected_version is not None else post.version
    now = timezone.now()
    with transaction.atomic():
        post, event = _transition(
            post=post,
            action=Action.APPROVE,
            by=actor,
            note=note,
            guard={"version": version},
            updates={
                "approved_by": actor.user,
                "approved_at": now,
                "approved_version": version,
                "status_note": "",
            },
        )
        approval = Approval.objects.create(
            post=post, version=version, approved_by=actor.user, approved_by_label=actor.label, approved_at=now
        )
        event.approval = approval
        event.save(update_fields=["approval"])
        # The outbox row commits with the approval (posting/publishing/outbox.py).
        from posting.publishing.outbox import publication_prepare

        publication_prepare(post=post)
    return post


def _required_note(note: str, field: str, message: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ServiceError(message, code="invalid", fields={field: [message]})
    return note


def post_reject(*, post: Post, by: Any, reason: str) -> Post:
    reason = _required_note(reason, "reason", _("Give a reason for the rejection."))
    return _transition(post=post, action=Action.REJECT, by=by, note=reason, updates={"status_note": reason})[
        0
    ]


def post_request_changes(*, post: Post, by: Any, note: str) -> Post:
    note = _required_note(note, "note", _("Say what should change."))
    return _transition(
        post=post, action=Action.REQUEST_CHANGES, by=by, note=note, updates={"status_note": note}
    )[0]


def post_mark_regenerated(*, post: Post, by: Any, batch_id: int) -> Post:
    """The post leaves the queue (rejected, kept) because batch ``batch_id`` writes a draft to replace it.

    Only posting/regenerate.py calls this, in the transaction that starts that batch.
    """
    note = _("Regenerated: replaced by a new draft in batch #%(batch)s.") % {"batch": batch_id}
    return _transition(post=post, action=Action.REGENERATE, by=by, note=note, updates={"status_note": note})[
        0
    ]


def post_schedule(*, post: Post, by: Any, at: dt.datetime) -> Post:
    if timezone.is_naive(at):
        raise ServiceError(
            _("The publishing time must include a time zone."), code="invalid", fields={"at": ["naive"]}
        )
    if at <= timezone.now():
        message = _("The publishing time must be in the future.")
        raise ServiceError(message, code="invalid", fields={"at": [message]})
    local = timezone.localtime(at)
    from posting.publishing.outbox import publication_set_due

    with transaction.atomic():
        post = _transition(
            post=post,
            action=Action.SCHEDULE,
            by=by,
            note=_("for %(when)s") % {"when": local.strftime("%Y-%m-%d %H:%M")},
            updates={"scheduled_at": at},
        )[0]
        # The outbox row's time moves with the post's, in the same transaction: never the old time.
        publication_set_due(post=post, at=at)
    return post


def post_unschedule(*, post: Post, by: Any) -> Post:
    from posting.publishing.outbox import publication_set_due

    with transaction.atomic():
        post = _transition(post=post, action=Action.UNSCHEDULE, by=by, updates={"scheduled_at": None})[0]
        publication_set_due(post=post, at=None)
    return post


def post_expire(*, post: Post, reason: str) -> Post:
    return _transition(
        post=post,
        action=Action.EXPIRE,
        by=Actor(label="stale-drafts"),
        note=reason,
        updates={"status_note": reason},
    )[0]


# --- Editing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditResult:
    post: Post
    changed: bool
    reopened: bool
    platform_copy_unchanged: bool


def post_update_text(*, post: Post, by: Any, title: str, body: str, expected_version: int) -> EditResult:
    """Save new text if nobody saved a newer version first; approved text goes back to review.

    The check is a compare-and-set on ``version``: saving over someone else's newer text is refused with
    EditConflict and nothing is written, so the caller can show the person their text again.
    """
    actor = _actor(by)
    _require_permission(actor, "posting.change_post", str(_("edit")))
    title, body = title.strip(), body.strip()
    if not title or not body:
        fields = {
            name: [_("This field is required.")]
            for name, value in (("title", title), ("body", body))
            if not value
        }
        raise ServiceError(_("Title and body are required."), code="invalid", fields=fields)
    post.refresh_from_db()
    if post.version != expected_version:
        raise _edit_conflict(post)
    if post.title == title and post.body == body:
        return EditResult(post=post, changed=False, reopened=False, platform_copy_unchanged=False)
    editable = EDITABLE_STATES | REOPEN_ON_EDIT_STATES | {Post.Status.PUBLISHED}
    if post.status not in editable:
        raise TransitionNotAllowed(
            _("A post that is %(status)s cannot be edited.") % {"status": _status_label(post.status)}
        )
    reopen = post.status in REOPEN_ON_EDIT_STATES
    now = timezone.now()
    updates: dict[str, Any] = {
        "title": title,
        "body": body,
        "version": F("version") + 1,
        "text_edited_by": actor.user,
        "text_edited_at": now,
        "updated_at": now,
    }
    if reopen:
        updates.update(status=Post.Status.PENDING_REVIEW, scheduled_at=None)
    with transaction.atomic():
        changed = Post.objects.filter(pk=post.pk, version=expected_version, status=post.status).update(
            **updates
        )
        if not changed:
            raise _edit_conflict(post)
        from_status = post.status
        post.refresh_from_db()
        PostRevision.objects.create(
            post=post,
            version=post.version,
            title=title,
            body=body,
            source=PostRevision.Source.EDIT,
            edited_by=actor.user,
        )
        published = post.status == Post.Status.PUBLISHED
        note = _("Only our copy changed; the platform copy is not edited.") if published else ""
        _record(post, actor, Action.EDIT_REOPEN if reopen else "edit", from_status, post.status, note=note)
    post_run_checks(post=post)
    return EditResult(post=post, changed=True, reopened=reopen, platform_copy_unchanged=published)


def _edit_conflict(post: Post) -> EditConflict:
    latest = Post.objects.select_related("text_edited_by").get(pk=post.pk)
    who = latest.text_edited_by.get_username() if latest.text_edited_by else _("someone")
    when = timezone.localtime(latest.text_edited_at).strftime("%H:%M") if latest.text_edited_at else ""
    return EditConflict(
        _(
            "%(who)s saved a newer version (v%(version)s) at %(when)s. Your text was not saved: "
            "copy it, reload the post and apply your change again."
        )
        % {"who": who, "version": latest.version, "when": when}
    )


# --- Checks -----------------------------------------------------------------------------------------


def post_run_checks(*, post: Post, llm_classifier: bool | None = None, classifier_answer: Any = None) -> Post:
    """Run the draft checks on the post's current text and store the findings and scores.

    ``llm_classifier`` and ``classifier_answer`` go to ``draft_check`` (the optional LLM classifier:
    a caller inside a transaction passes an answer asked for before it, or turns the classifier off).
    """
    from posting.checks import draft_check

    report = draft_check(
        title=post.title,
        body=post.body,
        snapshot=post.market_snapshot or None,
        stock=post.stock,
        kol=post.kol,
        exclude_post_id=post.pk,
        llm_classifier=llm_classifier,
        classifier_answer=classifier_answer,
    )
    summary = report.to_dict()
    findings = summary.pop("findings", [])
    # The queue shows a duplicate flag per row without reading the findings list.
    summary["duplicate"] = any("duplicate" in str(finding.get("code", "")) for finding in findings)
    Post.objects.filter(pk=post.pk).update(
        check_findings=findings,
        check_summary=summary,
        checked_at=timezone.now(),
        quality_score=report.quality_score,
        machine_text_score=report.machine_text_score,
        risk_level=report.risk_level,
        risk_rank=Post.RISK_RANKS.get(report.risk_level, 2),
    )
    post.refresh_from_db()
    return post


# --- Publishing (driven by posting/publishing/outbox.py) --------------------------------------------


def post_start_publishing(*, post: Post, by: Any, version: int) -> Post:
    """The claim of a send: only the approved version, unchanged since approval, starts publishing."""
    return _transition(
        post=post,
        action=Action.START_PUBLISHING,
        by=by,
        guard={"version": version, "approved_version": version},
        updates={"publish_error": ""},
    )[0]


def post_mark_published(
    *, post: Post, by: Any, platform_post_id: str, platform_post_url: str, at: dt.datetime, note: str = ""
) -> Post:
    return _transition(
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


def post_mark_failed(*, post: Post, by: Any, error: str) -> Post:
    return _transition(
        post=post, action=Action.MARK_FAILED, by=by, note=error, updates={"publish_error": error}
    )[0]


def post_unpublish(*, post: Post, by: Any, note: str) -> Post:
    """The post's article was deleted from the platform: published -> unpublished, with the outcome noted."""
    return _transition(post=post, action=Action.UNPUBLISH, by=by, note=note)[0]


def post_retry(*, post: Post, by: Any) -> Post:
    """A failed post goes back to approved (its approval still covers the unchanged text)."""
    return _transition(post=post, action=Action.RETRY, by=by, guard={"approved_version": post.version})[0]
