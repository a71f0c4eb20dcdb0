"""Non-trivial reads of posts: the review dashboard, revision diffs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from rapidfuzz.distance import Levenshtein

from posting.models import Post, PostRevision

WAITING = (Post.Status.PENDING_REVIEW,)


def review_dashboard() -> dict[str, Any]:
    """Counts by status, today's queue, the oldest waiting draft and pending posts per KOL."""
    today_start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    by_status = dict(Post.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    oldest = (
        Post.objects.filter(status__in=WAITING)
        .select_related("kol", "stock")
        .order_by("created_at")
        .only("id", "title", "created_at", "kol__nickname", "stock__code", "stock__name")
        .first()
    )
    today = Post.objects.filter(created_at__gte=today_start).aggregate(
        created=Count("id"),
        waiting=Count("id", filter=Q(status__in=WAITING)),
        approved=Count("id", filter=Q(approved_at__gte=today_start)),
    )
    per_kol = list(
        Post.objects.filter(status__in=WAITING)
        .values("kol_id", "kol__nickname")
        .annotate(pending=Count("id"), oldest=Min("created_at"))
        .order_by("-pending", "kol__nickname")[:15]
    )
    return {
        "by_status": [
            {"status": value, "label": label, "count": by_status.get(value, 0)}
            for value, label in Post.Status.choices
        ],
        "today": today,
        "oldest_waiting": oldest,
        "per_kol": per_kol,
    }


@dataclass(frozen=True)
class RevisionView:
    revision: PostRevision
    diff_html: SafeString
    distance: int


def _diff_html(before: str, after: str) -> SafeString:
    """A character diff (Chinese has no spaces to split words on), every piece escaped."""
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    parts: list[str] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape(before[a0:a1]))
            continue
        if a1 > a0:
            parts.append(format_html('<del class="kol-diff-del">{}</del>', before[a0:a1]))
        if b1 > b0:
            parts.append(format_html('<ins class="kol-diff-ins">{}</ins>', after[b0:b1]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped


def revision_history(*, post: Post) -> list[RevisionView]:
    """Each revision with its diff against the original (revision 1) and the edit distance to it."""
    revisions = list(post.revisions.select_related("edited_by").order_by("version"))
    if not revisions:
        return []
    original = f"{revisions[0].title}\n{revisions[0].body}"
    views = []
    for revision in revisions:
        text = f"{revision.title}\n{revision.body}"
        views.append(
            RevisionView(
                revision=revision,
                diff_html=_diff_html(original, text),
                distance=Levenshtein.distance(original, text),
            )
        )
    return views


# --- The persona card a post was written with ------------------------------------------------------

_PERSONA_LABELS = {
    "nickname": _("nickname"),
    "persona": _("persona"),
    "backstory": _("backstory"),
    "content_style": _("content style"),
    "target_audience": _("target audience"),
    "style_rules": _("style rules"),
    "guardrails": _("guardrails"),
    "common_phrases": _("common phrases"),
    "signature": _("signature"),
    "emoji_use": _("emoji use"),
    "tone": _("tone (1–10)"),
}


def persona_version_rows(*, post: Post) -> list[tuple[str, str]]:
    """The post's persona card version as (label, text) rows for the post page: no raw JSON."""
    version = post.persona_version
    if version is None:
        return []
    rows = []
    for key, label in _PERSONA_LABELS.items():
        value = version.card.get(key)
        if isinstance(value, list):
            text = "、".join(str(item) for item in value)
        elif isinstance(value, dict):
            text = "，".join(f"{name.removeprefix('tone_')} {number}" for name, number in value.items())
        else:
            text = str(value or "")
        if text:
            rows.append((str(label), text))
    return rows
