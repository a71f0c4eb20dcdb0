"""Non-trivial reads of posts: the review dashboard, revision diffs."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q, Value
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rapidfuzz.distance import Levenshtein

from posting.models import AuditEvent, Post, PostRevision, Publication

WAITING = (Post.Status.PENDING_REVIEW,)
CHART_DAYS = 14
TODO_LIMIT = 8
TODO_COUNT_CAP = 10_000


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
        "by_status_total": sum(by_status.values()),
        "today": today,
        "oldest_waiting": oldest,
        "per_kol": per_kol,
    }


def _day_start(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def editor_todo(*, user: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """The signed-in person's to-do: their queue, today's publications, and what waits for a decision.

    A reviewer's queue is what they may approve (pending review, not last edited by them); a writer's
    is what was sent back to them. Five queries, whatever the number of posts.
    """
    now = now or timezone.now()
    start, end = _day_start(now), _day_start(now) + dt.timedelta(days=1)
    reviews = user.has_perm("posting.review_post")
    queue = Post.objects.filter(status=Post.Status.PENDING_REVIEW).exclude(text_edited_by=user)
    sent_back = Post.objects.filter(status=Post.Status.CHANGES_REQUESTED)
    mine = queue if reviews else sent_back
    today_posts = (
        Post.objects.filter(
            Q(status=Post.Status.SCHEDULED, scheduled_at__gte=start, scheduled_at__lt=end)
            | Q(status=Post.Status.PUBLISHED, published_at__gte=start, published_at__lt=end)
        )
        .select_related("kol")
        .only("id", "title", "status", "scheduled_at", "published_at", "is_demo", "kol__nickname")
        .order_by("scheduled_at", "published_at")[:TODO_LIMIT]
    )
    decisions = Publication.objects.filter(status=Publication.Status.UNKNOWN) | Publication.objects.filter(
        status=Publication.Status.FAILED_PERMANENT, post__status=Post.Status.FAILED
    )
    return {
        "reviews": reviews,
        # Counted up to TODO_COUNT_CAP + 1 (shown as "10,000+"): the home costs the same at any size.
        "queue_count": mine.order_by()[: TODO_COUNT_CAP + 1].count(),
        "queue_count_cap": TODO_COUNT_CAP,
        "queue_first": mine.select_related("kol")
        .only("id", "title", "kol__nickname")
        .order_by("risk_rank", "created_at")
        .first(),
        "today_posts": list(today_posts),
        "decisions": list(
            decisions.select_related("post__kol")
            .only(
                "id",
                "status",
                "backend",
                "last_error",
                "post__id",
                "post__title",
                "post__is_demo",
                "post__kol__nickname",
            )
            .order_by("-id")[:TODO_LIMIT]
        ),
    }


def _by_day(rows: Any, days: list[dt.date], demo: bool) -> list[int]:
    counts = {row["day"]: row["n"] for row in rows if row["is_demo"] == demo}
    return [counts.get(day, 0) for day in days]


def posts_by_day_chart(*, now: dt.datetime | None = None, days: int = CHART_DAYS) -> dict[str, Any]:
    """Drafts written and posts published per day (Asia/Taipei), real and demo apart. One query."""
    now = now or timezone.now()
    first = _day_start(now) - dt.timedelta(days=days - 1)
    labels = [(first + dt.timedelta(days=n)).date() for n in range(days)]

    def grouped(field: str, kind: str) -> Any:
        return (
            Post.objects.filter(**{f"{field}__gte": first})
            .annotate(day=TruncDate(field), kind=Value(kind))
            .values("day", "is_demo", "kind")
            .annotate(n=Count("id"))
            .order_by()
        )

    # One query for both series.
    rows = list(grouped("created_at", "written").union(grouped("published_at", "published"), all=True))
    written = [row for row in rows if row["kind"] == "written"]
    published = [row for row in rows if row["kind"] == "published"]
    datasets = [
        {"label": _("Drafts written"), "data": _by_day(written, labels, False)},
        {"label": _("Published"), "data": _by_day(published, labels, False)},
        {"label": _("Drafts written (demo)"), "data": _by_day(written, labels, True)},
        {"label": _("Published (demo)"), "data": _by_day(published, labels, True)},
    ]
    return {
        "labels": [f"{day.month}/{day.day}" for day in labels],
        "datasets": [dataset for dataset in datasets if any(dataset["data"])] or datasets[:2],
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


def resubmitted_after_changes() -> Exists:
    """Annotation: the post was sent back with requested changes and resubmitted (it came back)."""
    return Exists(
        AuditEvent.objects.filter(
            post=OuterRef("pk"), action="submit", from_status=Post.Status.CHANGES_REQUESTED
        )
    )


# --- The persona card a post was written with ------------------------------------------------------

_PERSONA_LABELS = {
    "nickname": gettext_lazy("nickname"),
    "persona": gettext_lazy("persona"),
    "backstory": gettext_lazy("backstory"),
    "content_style": gettext_lazy("content style"),
    "target_audience": gettext_lazy("target audience"),
    "style_rules": gettext_lazy("style rules"),
    "guardrails": gettext_lazy("guardrails"),
    "common_phrases": gettext_lazy("common phrases"),
    "signature": gettext_lazy("signature"),
    "emoji_use": gettext_lazy("emoji use"),
    "tone": gettext_lazy("tone (1–10)"),
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
