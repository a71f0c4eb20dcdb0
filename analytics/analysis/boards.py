"""Best times (hour × weekday, shrunk), leaderboards of KOLs and personas, and trends by week and day."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Avg, Count, F, FloatField, Q, QuerySet
from django.db.models.functions import TruncWeek

from analytics.analysis.scope import Scope, scored_posts
from analytics.analysis.stats import Moments, shrink
from analytics.features import TAIPEI
from analytics.models import PostFeatures
from kols.models import KOL
from posting.models import Post


class Median(Aggregate):
    """PostgreSQL's exact median; other databases get it in Python (medians_by)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def medians_by(rows: QuerySet[PostFeatures], field: str) -> dict[Any, float | None]:
    """The median score per value of ``field``: one query on PostgreSQL, Python elsewhere."""
    if connection.vendor == "postgresql":
        grouped = rows.order_by().values(field).annotate(median=Median("score"))
        return {row[field]: row["median"] for row in grouped}
    collected: dict[Any, list[float]] = defaultdict(list)
    for key, score in rows.values_list(field, "score"):
        collected[key].append(score)
    return {key: _median(values) for key, values in collected.items()}


def _moments(rows: QuerySet[PostFeatures], *fields: str) -> list[dict[str, Any]]:
    return list(
        rows.order_by()
        .values(*fields)
        .annotate(
            n=Count("pk"), mean=Avg("score"), mean_sq=Avg(F("score") * F("score"), output_field=FloatField())
        )
        .order_by(*fields)
    )


def best_times(*, scope: Scope) -> dict[str, Any]:
    """The hour × weekday grid: raw mean, count and the empirical-Bayes estimate of each cell."""
    grouped = {(row["weekday"], row["hour"]): row for row in _moments(scored_posts(scope), "weekday", "hour")}
    keys = [(weekday, hour) for weekday in range(7) for hour in range(24)]
    cells = []
    for key in keys:
        row = grouped.get(key)
        n = row["n"] if row else 0
        cells.append(
            Moments.from_sums(
                n, (row["mean"] or 0) * n if row else 0, (row["mean_sq"] or 0) * n if row else 0
            )
        )
    overall, estimates = shrink(cells)
    grid = [
        {
            "weekday": weekday,
            "hour": hour,
            "posts": cell.n,
            "mean": cell.mean if cell.n else None,
            "shrunk": estimate,
        }
        for (weekday, hour), cell, estimate in zip(keys, cells, estimates, strict=True)
    ]
    ranked = sorted((cell for cell in grid if cell["posts"]), key=lambda cell: -float(cell["shrunk"] or 0))
    return {
        "scope": scope.as_dict(),
        "overall_mean": overall,
        "posts": sum(c.n for c in cells),
        "cells": grid,
        "best": ranked[:10],
    }


def best_hours(result: dict[str, Any], count: int = 3) -> list[int]:
    """The hours of the day whose shrunk mean (over weekdays, weighted by posts) beats the overall mean."""
    by_hour: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for cell in result["cells"]:
        if cell["posts"]:
            by_hour[cell["hour"]].append((cell["posts"], cell["shrunk"]))
    means = {
        hour: sum(n * value for n, value in pairs) / sum(n for n, _value in pairs)
        for hour, pairs in by_hour.items()
    }
    better = [
        hour
        for hour, value in sorted(means.items(), key=lambda item: -item[1])
        if value > result["overall_mean"]
    ]
    return better[:count]


def _approval_rates(scope: Scope, field: str) -> dict[Any, tuple[int, int]]:
    """(approved, decided) per KOL or persona among posts created in the period."""
    decided_states = [*Post.APPROVED_STATES, Post.Status.REJECTED]
    posts = Post.objects.filter(
        created_at__gte=scope.start_at(), created_at__lt=scope.end_at(), status__in=decided_states
    )
    if not scope.include_demo:
        posts = posts.filter(is_demo=False)
    if scope.kol_id:
        posts = posts.filter(kol_id=scope.kol_id)
    if scope.persona:
        posts = posts.filter(kol__persona=scope.persona)
    source = "kol_id" if field == "kol_id" else "kol__persona"
    grouped = (
        posts.order_by()
        .values(source)
        .annotate(decided=Count("pk"), approved=Count("pk", filter=Q(status__in=Post.APPROVED_STATES)))
    )
    return {row[source]: (row["approved"], row["decided"]) for row in grouped}


def leaderboard(*, scope: Scope, by: str = "kol") -> dict[str, Any]:
    """KOLs (or personas) by median 24 h score, with posts, mean and approval rate, and weekly means."""
    field = "kol_id" if by == "kol" else "persona"
    rows = scored_posts(scope)
    counts, medians = _counts_and_medians(rows, field)
    rates = _approval_rates(scope, field)
    names = dict(KOL.objects.filter(pk__in=list(counts)).values_list("pk", "nickname")) if by == "kol" else {}
    entries = []
    for key, row in counts.items():
        approved, decided = rates.get(key, (0, 0))
        entries.append(
            {
                "key": key,
                "name": names.get(key, str(key)),
                "posts": row["n"],
                "median": medians.get(key),
                "mean": row["mean"],
                "approval_rate": approved / decided if decided else None,
                "decided": decided,
            }
        )
    entries.sort(key=lambda entry: -(entry["median"] or 0))
    return {"scope": scope.as_dict(), "by": by, "entries": entries, "weeks": _weekly(rows, field, names)}


def _counts_and_medians(rows: QuerySet[PostFeatures], field: str) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Posts, mean and median per value: one scan on PostgreSQL."""
    if connection.vendor != "postgresql":
        return {row[field]: row for row in _moments(rows, field)}, medians_by(rows, field)
    # COUNT(*), not COUNT(post_id): by KOL, every column this reads is in features_kol_scores_idx, so
    # PostgreSQL answers from the index alone (an index-only scan in KOL order).
    grouped = rows.order_by().values(field).annotate(n=Count("*"), mean=Avg("score"), median=Median("score"))
    return {row[field]: row for row in grouped}, {row[field]: row["median"] for row in grouped}


def _weekly(rows: QuerySet[PostFeatures], field: str, names: dict[int, str]) -> list[dict[str, Any]]:
    grouped = (
        rows.order_by()
        # published_day is already the Asia/Taipei date: no time-zone conversion per row.
        .annotate(week=TruncWeek("published_day"))
        .values("week", field)
        .annotate(n=Count("pk"), mean=Avg("score"))
        .order_by("week", field)
    )
    return [
        {
            "week": _as_date(row["week"]),
            "key": row[field],
            "name": names.get(row[field], str(row[field])),
            "posts": row["n"],
            "mean": row["mean"],
        }
        for row in grouped
    ]


def _as_date(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(TAIPEI).date().isoformat()
    return value.isoformat()


def daily_trend(*, scope: Scope) -> dict[str, Any]:
    """Posts and their mean 24 h score by published day (Asia/Taipei)."""
    grouped = _moments(scored_posts(scope), "published_day")
    return {
        "scope": scope.as_dict(),
        "days": [
            {"day": row["published_day"].isoformat(), "posts": row["n"], "mean": row["mean"]}
            for row in grouped
        ],
    }
