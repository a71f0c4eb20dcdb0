"""Who may approve a post now, and if not, why: one answer for the post page's button and for
``post_approve`` (which asks it again under the post's row lock, so the answer cannot change meanwhile).

Four eyes: a reviewer may not approve a post any of whose text since it was generated, or since its last
approval, is theirs (every PostRevision since then, not only the last edit). A one-person team sets
``REVIEW_ALLOW_SELF_APPROVAL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from posting.lifecycle.guards import checks_refusal
from posting.lifecycle.transitions import status_label
from posting.models import Approval, Post, PostRevision

# How many other reviewers a refusal names.
NAMED_REVIEWERS = 5


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def editors_since_approval(post: Post) -> set[int]:
    """Ids of the people who wrote any of the post's text since generation or since its last approval."""
    last = Approval.objects.filter(post=post).aggregate(v=Max("version"))["v"] or 0
    editors = set(
        PostRevision.objects.filter(post=post, version__gt=last, edited_by__isnull=False).values_list(
            "edited_by_id", flat=True
        )
    )
    if post.text_edited_by_id is not None and (post.approved_version or 0) < post.version:
        editors.add(post.text_edited_by_id)
    return editors


def other_reviewers(*, exclude: set[int]) -> list[str]:
    """Usernames of active people with the review permission, other than ``exclude``."""
    permission = Permission.objects.filter(codename="review_post", content_type__app_label="posting").first()
    users = get_user_model().objects.filter(is_active=True)
    may = Q(is_superuser=True)
    if permission is not None:
        may |= Q(user_permissions=permission) | Q(groups__permissions=permission)
    names = (
        users.filter(may)
        .exclude(pk__in=exclude)
        .distinct()
        .order_by("username")
        .values_list("username", flat=True)[:NAMED_REVIEWERS]
    )
    return list(names)


def _self_approval(post: Post, user: Any) -> Refusal | None:
    if user is None or settings.REVIEW_ALLOW_SELF_APPROVAL:
        return None
    editors = editors_since_approval(post)
    if user.pk not in editors:
        return None
    others = other_reviewers(exclude=editors)
    if others:
        who = _("Someone else must approve it: %(names)s.") % {"names": ", ".join(others)}
    else:
        who = _("Nobody else has the review permission.")
    message = _(
        "You wrote part of this text since it was generated or last approved, so you may not approve it. "
        "%(who)s A one-person team can set REVIEW_ALLOW_SELF_APPROVAL=true."
    ) % {"who": who}
    return Refusal("self_approval", message)


def _already_approved(post: Post) -> Refusal:
    approval = Approval.objects.filter(post=post).select_related("approved_by").order_by("-version").first()
    who = ""
    if approval is not None:
        who = approval.approved_by.get_username() if approval.approved_by else approval.approved_by_label
    if post.status in Post.APPROVED_STATES and who:
        return Refusal(
            "already_approved",
            _("Already approved by %(who)s (v%(version)s); it is %(status)s.")
            % {
                "who": who,
                "version": approval.version if approval else "",
                "status": status_label(post.status),
            },
        )
    return Refusal(
        "transition_not_allowed",
        _("Cannot approve: the post is %(status)s.") % {"status": status_label(post.status)},
    )


def approval_refusal(*, post: Post, user: Any) -> Refusal | None:
    """Why ``user`` may not approve ``post`` as it is now; None when they may.

    ``user`` None is the system (a schedule's auto-approval): only the status and the checks apply.
    """
    if post.status != Post.Status.PENDING_REVIEW:
        return _already_approved(post)
    if user is not None and not user.has_perm("posting.review_post"):
        return Refusal("permission_denied", _("You do not have permission to approve posts."))
    refusal = _self_approval(post, user)
    if refusal is not None:
        return refusal
    checks = checks_refusal(post)
    if checks is not None:
        return Refusal(*checks)
    return None
