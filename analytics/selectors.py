"""Reads of interactions: a post's timeline, stats by KOL / persona / day, a KOL's totals and followers."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from analytics.models import METRICS, CollectionStop, InteractionSnapshot, KOLSnapshot, SnapshotClaim
from kols.models import KOL
from posting.models import Backend, Post, Publication, PublicationStatus

GROUPS = ("kol", "persona", "day")
_LABELS = {"likes": _("likes"), "comments": _("comments"), "saves": _("saves")}


def post_timeline(*, post_id: Any) -> QuerySet[InteractionSnapshot]:
    return InteractionSnapshot.objects.filter(post_id=post_id).order_by("captured_at")


def _latest(name: str) -> Subquery:
    latest = InteractionSnapshot.objects.filter(post=OuterRef("pk")).order_by("-captured_at").values(name)[:1]
    return Subquery(latest, output_field=IntegerField())


def interaction_stats(
    *,
    group_by: str = "day",
    kol: int | None = None,
    persona: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Per group: posts, totals of each post's latest snapshot, and the 24 h scores (mean, late count).

    Days are the publishing day in Asia/Taipei; ``since``/``until`` bound it (inclusive).
    """
    posts = Post.objects.filter(published_at__isnull=False).annotate(
        day=TruncDate("published_at", tzinfo=timezone.get_current_timezone())
    )
    if kol is not None:
        posts = posts.filter(kol_id=kol)
    if persona:
        posts = posts.filter(kol__persona=persona)
    if since is not None:
        posts = posts.filter(day__gte=since)
    if until is not None:
        posts = posts.filter(day__lte=until)
    key = {"kol": "kol_id", "persona": "kol__persona", "day": "day"}[group_by]
    rows = (
        posts.annotate(**{f"latest_{name}": _latest(name) for name in METRICS})
        .values(key)
        .annotate(
            posts=Count("pk"),
            **{name: Sum(f"latest_{name}") for name in METRICS},
            scored=Count("pk", filter=Q(score_24h__isnull=False)),
            score_24h_mean=Avg("score_24h"),
            late_24h=Count("pk", filter=Q(score_24h_late=True, score_24h__isnull=False)),
        )
        .order_by(key)
    )
    labels = _labels(group_by, [row[key] for row in rows])
    return [
        {"key": _key(row[key]), "name": labels.get(row[key], str(row[key])), **_numbers(row)} for row in rows
    ]


def _key(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _labels(group_by: str, keys: list[Any]) -> dict[Any, str]:
    if group_by == "kol":
        return dict(KOL.objects.filter(pk__in=keys).values_list("pk", "nickname"))
    if group_by == "persona":
        from kols.models import Persona

        return {value: str(Persona(value).label) for value in keys if value in Persona.values}
    return {}


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    mean = row["score_24h_mean"]
    return {
        "posts": row["posts"],
        **{name: row[name] for name in METRICS},
        "scored_posts": row["scored"],
        "score_24h_mean": round(mean, 2) if mean is not None else None,
        "late_24h": row["late_24h"],
    }


# --- The post page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostInteractions:
    snapshots: list[InteractionSnapshot]
    dry_run: bool
    stop: CollectionStop | None
    pending_slots: list[str]
    chart: str


def _chart(snapshots: list[InteractionSnapshot]) -> str:
    """Chart.js data (django-unfold ships Chart.js and draws every ``canvas.chart``): counts by real age."""
    points = [s for s in snapshots if s.age_seconds is not None]
    if len(points) < 2:
        return ""
    labels = [s.slot or f"{(s.age_seconds or 0) / 3600:.1f}h" for s in points]
    datasets = [
        {
            "label": str(_LABELS[name]),
            "data": [getattr(s, name) for s in points],
        }
        for name in ("likes", "comments", "saves")
    ]
    return json.dumps({"labels": labels, "datasets": datasets}, ensure_ascii=False)


def post_interactions(*, post: Post) -> PostInteractions:
    snapshots = list(post_timeline(post_id=post.pk))
    dry_run = Publication.objects.filter(
        post_id=post.pk, backend=Backend.DRY_RUN, status=PublicationStatus.PUBLISHED
    ).exists()
    pending = list(
        SnapshotClaim.objects.filter(
            post_id=post.pk, status__in=[SnapshotClaim.Status.PENDING, SnapshotClaim.Status.COLLECTING]
        )
        .order_by("due_at")
        .values_list("slot", flat=True)
    )
    return PostInteractions(
        snapshots=snapshots,
        dry_run=dry_run,
        stop=CollectionStop.objects.filter(post_id=post.pk).first(),
        pending_slots=pending,
        chart=_chart(snapshots),
    )


def post_interactions_context(post: Post) -> dict[str, Any]:
    """The context of templates/admin/posting/post/_interactions.html."""
    return {"interactions": post_interactions(post=post)}


# --- The KOL page -------------------------------------------------------------------------------------


def _grouped(value: Any) -> str:
    return "—" if value is None else number_format(value, force_grouping=True)


def kol_interactions_context(kol: KOL) -> dict[str, Any]:
    """The KOL page: totals over its posts' latest snapshots, 24 h scores, and the follower trend."""
    posts = Post.objects.filter(kol=kol, published_at__isnull=False).annotate(
        **{f"latest_{name}": _latest(name) for name in METRICS}
    )
    totals = posts.aggregate(
        posts=Count("pk"),
        **{name: Sum(f"latest_{name}") for name in METRICS},
        score_24h_mean=Avg("score_24h"),
    )
    mean = totals.pop("score_24h_mean")
    shown = {name: _grouped(value) for name, value in totals.items()}
    shown["score_24h_mean"] = "—" if mean is None else number_format(round(mean, 2), decimal_pos=2)
    trend = list(KOLSnapshot.objects.filter(kol=kol).order_by("-day")[:30])[::-1]
    rows = [
        {"day": row.day, "followers": _grouped(row.followers), "articles": _grouped(row.articles)}
        for row in trend
    ]
    chart = ""
    if len(trend) >= 2:
        label = str(_("followers"))
        chart = json.dumps(
            {
                "labels": [f"{row.day:%m-%d}" for row in trend],
                "datasets": [{"label": label, "data": [row.followers for row in trend]}],
            },
            ensure_ascii=False,
        )
    return {"kol_interactions": {"totals": shown, "trend": rows, "chart": chart}}
