"""The review desk's state changes: drafts created, submitted, approved, rejected, sent back, scheduled,
edited and checked. Admin actions, API endpoints and tasks all call these; each applies one transition of
posting/lifecycle/ (a compare-and-set with its audit event).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from posting.checks import draft_check
from posting.lifecycle.guards import checks_refusal
from posting.lifecycle.table import EDITABLE_STATES, REOPEN_ON_EDIT_STATES, TRANSITIONS, Action
from posting.lifecycle.transitions import (
    Actor,
    EditConflict,
    ReviewRefused,
    TransitionNotAllowed,
    as_actor,
    audit_record,
    require_permission,
    status_label,
    transition_apply,
)
from posting.models import Approval, Post, PostRevision
from posting.publishing.outbox import publication_prepare, publication_prepare_update, publication_set_due
from posting.review.approval import approval_refusal
from posting.review.cleaning import text_clean

# --- Creating drafts --------------------------------------------------------------------------------


def post_create_draft(*, status: str = Post.Status.PENDING_REVIEW, by: Any = None, **fields: Any) -> Post:
    """Create a draft (generation, a person, the demo command) with its original text as revision 1.

    Generation never approves or publishes: only draft and pending_review are accepted here.
    """
    if status not in (Post.Status.DRAFT, Post.Status.PENDING_REVIEW):
        raise ServiceError(_("A new post starts as a draft or pending review."), code="invalid_status")
    actor = as_actor(by) if by is not None else Actor(label="generator")
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
        audit_record(post, actor, "create", "", status)
    return post


def post_write(*, kol: Any, stock: Any, title: str, body: str, by: Any) -> Post:
    """A post written by hand for a KOL: a draft (revision 1 is the person's), checked like any other.

    The author submits it (``post_submit``) and someone else reviews it: revision 1 is theirs, so the
    four-eyes rule applies to it as to an edit.
    """
    actor = as_actor(by)
    require_permission(actor, "posting.add_post", str(_("write")))
    title, body = _required_text(title, body)
    post = post_create_draft(
        status=Post.Status.DRAFT,
        by=actor,
        kol=kol,
        stock=stock,
        title=title,
        body=body,
        generator=Post.Generator.HUMAN,
        text_edited_by=actor.user,
        text_edited_at=timezone.now(),
    )
    return post_run_checks(post=post)


# --- Review -----------------------------------------------------------------------------------------


def post_submit(*, post: Post, by: Any) -> Post:
    """Send a draft, or a post that came back with requested changes, (back) to the review queue."""
    return transition_apply(post=post, action=Action.SUBMIT, by=by)[0]


def post_approve(*, post: Post, by: Any, expected_version: int | None = None, note: str = "") -> Post:
    """Approve the version the reviewer saw, exactly as checked.

    Everything is decided under the post's row lock, in the transaction of the transition: an edit
    (which updates the same row) either committed before, and is seen here, or waits and then finds the
    post approved. So the four-eyes rule, the checks' version and the blocking findings are judged on the
    text that gets approved (posting/review/approval.py gives the reasons).
    """
    actor = as_actor(by)
    require_permission(actor, TRANSITIONS[Action.APPROVE].permission, str(_("approve")))
    note = text_clean(field="note", value=note, limit=settings.REVIEW_NOTE_MAX_CHARS, required=False)
    now = timezone.now()
    with transaction.atomic():
        locked = Post.objects.select_for_update().filter(pk=post.pk).first()
        if locked is None:
            raise TransitionNotAllowed(_("The post no longer exists."))
        if locked.status == Post.Status.PENDING_REVIEW and expected_version not in (None, locked.version):
            raise version_conflict(locked, expected_version)
        refusal = approval_refusal(post=locked, user=actor.user)
        if refusal is not None and refusal.code in ("already_approved", "transition_not_allowed"):
            raise TransitionNotAllowed(refusal.message, code=refusal.code)
        if refusal is not None:
            raise ReviewRefused(refusal.message, code=refusal.code)
        version = locked.version
        post, event = transition_apply(
            post=locked,
            action=Action.APPROVE,
            by=actor,
            note=note,
            guard={"version": version, "checked_version": version},
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
        publication_prepare(post=post)
    return post


def post_approve_edit(*, post: Post, by: Any, expected_version: int | None = None, note: str = "") -> Post:
    """Approve an edit of a PUBLISHED post; the approved title and text are pushed to its article.

    The post stays published. Same refusals as a first approval (self-approval, blocking findings, a
    stale version). Tags are not part of an edit: the platform cannot change them.
    """
    actor = as_actor(by)
    require_permission(actor, TRANSITIONS[Action.APPROVE].permission, str(_("approve")))
    post.refresh_from_db()
    if post.status != Post.Status.PUBLISHED or post.approved_version == post.version:
        raise TransitionNotAllowed(_("Only an edit of a published post waits for this approval."))
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
        changed = Post.objects.filter(pk=post.pk, version=version, status=Post.Status.PUBLISHED).update(
            approved_by=actor.user, approved_at=now, approved_version=version, updated_at=now
        )
        if not changed:
            raise _edit_conflict(post)
        post.refresh_from_db()
        approval = Approval.objects.create(
            post=post, version=version, approved_by=actor.user, approved_by_label=actor.label, approved_at=now
        )
        event = audit_record(post, actor, "approve_edit", post.status, post.status, note=note)
        event.approval = approval
        event.save(update_fields=["approval"])
        publication_prepare_update(post=post)
    return post


def post_attach_topic(*, post: Post, by: Any, topic_id: str, topic_title: str = "") -> Post:
    """Attach the post to a CMoney community topic (``communityTopic``), or detach it (empty id).

    Only before publishing: the platform's edit cannot change it afterwards.
    """
    actor = as_actor(by)
    require_permission(actor, "posting.change_post", str(_("edit")))
    topic_id, topic_title = topic_id.strip()[:100], topic_title.strip()[:200]
    allowed = EDITABLE_STATES | REOPEN_ON_EDIT_STATES
    changed = Post.objects.filter(pk=post.pk, status__in=allowed).update(
        topic_id=topic_id, topic_title=topic_title or post.topic_title, updated_at=timezone.now()
    )
    if not changed:
        raise TransitionNotAllowed(_("A topic can only be attached before the post is published."))
    post.refresh_from_db()
    audit_record(post, actor, "attach_topic", post.status, post.status, note=topic_id or _("(no topic)"))
    return post


def _required_note(note: str, field: str, message: str) -> str:
    if not (note or "").strip():
        raise ServiceError(message, code="invalid", fields={field: [message]})
    return text_clean(field=field, value=note, limit=settings.REVIEW_NOTE_MAX_CHARS)


def post_reject(*, post: Post, by: Any, reason: str) -> Post:
    reason = _required_note(reason, "reason", _("Give a reason for the rejection."))
    return transition_apply(
        post=post, action=Action.REJECT, by=by, note=reason, updates={"status_note": reason}
    )[0]


def post_request_changes(*, post: Post, by: Any, note: str) -> Post:
    note = _required_note(note, "note", _("Say what should change."))
    return transition_apply(
        post=post, action=Action.REQUEST_CHANGES, by=by, note=note, updates={"status_note": note}
    )[0]


def post_mark_regenerated(*, post: Post, by: Any, batch_id: int) -> Post:
    """The post leaves the queue (rejected, kept) because batch ``batch_id`` writes a draft to replace it.

    Only posting/generation/regenerate.py calls this, in the transaction that starts that batch.
    """
    note = _("Regenerated: replaced by a new draft in batch #%(batch)s.") % {"batch": batch_id}
    return transition_apply(
        post=post, action=Action.REGENERATE, by=by, note=note, updates={"status_note": note}
    )[0]


def post_schedule(*, post: Post, by: Any, at: dt.datetime) -> Post:
    if timezone.is_naive(at):
        raise ServiceError(
            _("The publishing time must include a time zone."), code="invalid", fields={"at": ["naive"]}
        )
    if at <= timezone.now():
        message = _("The publishing time must be in the future.")
        raise ServiceError(message, code="invalid", fields={"at": [message]})
    local = timezone.localtime(at)
    with transaction.atomic():
        locked = Post.objects.select_for_update().filter(pk=post.pk).first()
        refusal = checks_refusal(locked) if locked is not None else None
        if refusal is not None:
            raise ReviewRefused(refusal[1], code=refusal[0])
        post = transition_apply(
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
    with transaction.atomic():
        post = transition_apply(post=post, action=Action.UNSCHEDULE, by=by, updates={"scheduled_at": None})[0]
        publication_set_due(post=post, at=None)
    return post


def post_expire(*, post: Post, reason: str) -> Post:
    return transition_apply(
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
    actor = as_actor(by)
    require_permission(actor, "posting.change_post", str(_("edit")))
    title, body = _required_text(title, body)
    post.refresh_from_db()
    if post.version != expected_version:
        raise version_conflict(
            Post.objects.select_related("text_edited_by").get(pk=post.pk), expected_version
        )
    if post.title == title and post.body == body:
        return EditResult(post=post, changed=False, reopened=False, platform_copy_unchanged=False)
    editable = EDITABLE_STATES | REOPEN_ON_EDIT_STATES | {Post.Status.PUBLISHED}
    if post.status not in editable:
        raise TransitionNotAllowed(
            _("A post that is %(status)s cannot be edited.") % {"status": status_label(post.status)}
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
        note = (
            _(
                "An edit of the published article: it reaches the platform once approved again (tags cannot change)."
            )
            if published
            else ""
        )
        audit_record(
            post, actor, Action.EDIT_REOPEN if reopen else "edit", from_status, post.status, note=note
        )
    post = post_run_checks(post=post)
    return EditResult(post=post, changed=True, reopened=reopen, platform_copy_unchanged=published)


def _required_text(title: str, body: str) -> tuple[str, str]:
    """Both cleaned (posting/review/cleaning.py); every field's problem reported at once."""
    cleaned: dict[str, str] = {}
    fields: dict[str, list[str]] = {}
    limits = {"title": settings.POST_TITLE_MAX_CHARS, "body": settings.POST_BODY_MAX_CHARS}
    for name, value in (("title", title), ("body", body)):
        try:
            cleaned[name] = text_clean(field=name, value=value, limit=limits[name])
        except ServiceError as error:
            fields.update(error.fields)
    if fields:
        message = "; ".join(f"{name}: {' '.join(problems)}" for name, problems in fields.items())
        raise ServiceError(message, code="invalid", fields=fields)
    return cleaned["title"], cleaned["body"]


def _edit_conflict(post: Post) -> EditConflict:
    latest = Post.objects.select_related("text_edited_by").get(pk=post.pk)
    return version_conflict(latest, None)


def version_conflict(latest: Post, expected: int | None) -> EditConflict:
    """Why the version someone acted on is not the post's: a newer save (by whom, when) or a made-up one."""
    if expected is not None and expected > latest.version:
        return EditConflict(
            _("There is no version %(expected)s of this post; it is at v%(version)s. Reload it.")
            % {"expected": expected, "version": latest.version}
        )
    editor, edited_at = latest.text_edited_by, latest.text_edited_at
    if editor is None or edited_at is None:
        return EditConflict(
            _("The post is now at v%(version)s, not the version you opened. Reload it and try again.")
            % {"version": latest.version}
        )
    return EditConflict(
        _(
            "%(who)s saved a newer version (v%(version)s) at %(when)s. Your text was not saved: "
            "copy it, reload the post and apply your change again."
        )
        % {
            "who": editor.get_username(),
            "version": latest.version,
            "when": timezone.localtime(edited_at).strftime("%H:%M"),
        }
    )


# --- Checks -----------------------------------------------------------------------------------------


def post_run_checks(*, post: Post, llm_classifier: bool | None = None, classifier_answer: Any = None) -> Post:
    """Run the draft checks on the post's current text and store the findings and scores.

    The findings are stored with the version they were computed on, and only if the text is still that
    version: checks of an older text finishing late never overwrite those of a newer one.

    ``llm_classifier`` and ``classifier_answer`` go to ``draft_check`` (the optional LLM classifier:
    a caller inside a transaction passes an answer asked for before it, or turns the classifier off).
    """
    post = Post.objects.select_related("kol", "stock").get(pk=post.pk)
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
    Post.objects.filter(pk=post.pk, version=post.version).update(
        check_findings=findings,
        check_summary=summary,
        checked_at=timezone.now(),
        checked_version=post.version,
        quality_score=report.quality_score,
        machine_text_score=report.machine_text_score,
        risk_level=report.risk_level,
        risk_rank=Post.RISK_RANKS.get(report.risk_level, 2),
    )
    post.refresh_from_db()
    return post
