"""The top 20% of posts by 24 h score against the rest, feature value by feature value.

Top: the ceil(20%) posts with the highest score (ties broken by post id, so the set is exact). For each
value of each feature: how many posts have it, how many of them are in the top, its share in the top
and in the rest (Wilson intervals), and the lift: how much more often a post with the value reaches the
top than a post without it (relative risk - 1, Katz log interval). A value seen on fewer than
ANALYTICS_MIN_POSTS posts (or whose complement is that small) is "not enough data", never a finding.
A finding is significant when its interval, widened by Bonferroni across every tested value, excludes
zero: over many runs a feature that does nothing is reported in at most ANALYTICS_ALPHA of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils.translation import gettext_lazy as _

from analytics.analysis.scope import Scope, scored_posts
from analytics.analysis.stats import Z95, relative_risk, wilson, z_for
from kols.models import KOL

TOP_SHARE = 0.2


@dataclass(frozen=True)
class Feature:
    name: str
    field: str
    label: Any


FEATURES: tuple[Feature, ...] = (
    Feature("kol", "kol_id", _("KOL")),
    Feature("persona", "persona", _("Persona")),
    Feature("content_style", "content_style", _("Content style")),
    Feature("post_type", "post_type", _("Post type")),
    Feature("trigger_type", "trigger_type", _("Trigger")),
    Feature("industry", "industry", _("Industry")),
    Feature("market_cap", "market_cap", _("Market cap")),
    Feature("hour", "hour", _("Hour (Asia/Taipei)")),
    Feature("weekday", "weekday", _("Weekday")),
    Feature("title_length", "title_length", _("Title length")),
    Feature("body_length", "body_length", _("Body length")),
    Feature("ends_with_question", "ends_with_question", _("Ends with a question")),
    Feature("emoji", "emoji", _("Emoji")),
    Feature("stance", "stance", _("Stance")),
    Feature("prompt_version", "prompt_version", _("Prompt version")),
    Feature("llm_model", "llm_model", _("Model")),
    Feature("generator", "generator", _("Generator")),
    Feature("edited", "edited", _("Edited by a person")),
    Feature("has_news", "has_news", _("News in context")),
)
FEATURES_BY_NAME = {feature.name: feature for feature in FEATURES}
FEATURE_ORDER = {feature.name: position for position, feature in enumerate(FEATURES)}


def top_count(total: int) -> int:
    return math.ceil(total * TOP_SHARE) if total else 0


def _top_filter(rows: Any, total: int) -> tuple[Q, float | None]:
    k = top_count(total)
    if k == 0:
        return Q(pk__in=[]), None
    score, post_id = rows.order_by("-score", "post_id").values_list("score", "post_id")[k - 1]
    return Q(score__gt=score) | Q(score=score, post_id__lte=post_id), score


def _row(
    feature: Feature, value: object, n: int, top: int, total: int, k: int, min_posts: int
) -> dict[str, Any]:
    rest, others = n - top, total - n
    share_top_low, share_top_high = wilson(top, k)
    share_rest_low, share_rest_high = wilson(rest, total - k)
    row: dict[str, Any] = {
        "feature": feature.name,
        "value": value,
        "posts": n,
        "top": top,
        "rest": rest,
        "share_top": top / k if k else 0.0,
        "share_top_interval": [share_top_low, share_top_high],
        "share_rest": rest / (total - k) if total > k else 0.0,
        "share_rest_interval": [share_rest_low, share_rest_high],
        "lift": None,
        "lift_interval": None,
        "significant": False,
        "enough_data": n >= min_posts and others >= min_posts,
    }
    if row["enough_data"]:
        ratio = relative_risk(top, n, k - top, others, Z95)
        row["lift"] = ratio.lift
        row["lift_interval"] = [ratio.low, ratio.high]
    return row


def _counts(rows: Any, top_q: Q) -> list[tuple[str, Any, int, int]]:
    """(feature, value, posts, posts in the top) for every value of every feature.

    PostgreSQL does it in one scan (GROUPING SETS over COMBINED_SETS); elsewhere one GROUP BY per feature.
    """
    if connection.vendor == "postgresql":
        return _counts_grouping_sets(rows, top_q)
    counts = []
    for feature in FEATURES:
        grouped = (
            rows.order_by()
            .values(feature.field)
            .annotate(n=Count("pk"), top=Count("pk", filter=top_q))
            .order_by(feature.field)
        )
        counts += [(feature.name, group[feature.field], group["n"], group["top"]) for group in grouped]
    return counts


# Fields counted together in one grouping set on PostgreSQL (few combined values each, several are
# nearly determined by another: a KOL's persona and style), then summed per field in Python: exact
# counts with 4 hash tables per row instead of 19.
COMBINED_SETS: tuple[tuple[str, ...], ...] = (
    ("kol_id", "persona", "content_style", "prompt_version", "llm_model", "generator"),
    ("post_type", "trigger_type", "industry", "market_cap"),
    ("hour", "weekday", "ends_with_question", "has_news"),
    ("title_length", "body_length", "emoji", "stance", "edited"),
)


def _counts_grouping_sets(rows: Any, top_q: Q) -> list[tuple[str, Any, int, int]]:
    fields = [feature.field for feature in FEATURES]
    assert sorted(fields) == sorted(field for group in COMBINED_SETS for field in group)
    inner = rows.order_by().annotate(
        is_top=Case(When(top_q, then=Value(1)), default=Value(0), output_field=IntegerField())
    )
    sql, params = inner.values(*fields, "is_top").query.sql_with_params()
    columns = ", ".join(f'"{field}"' for field in fields)
    flags = ", ".join(f'GROUPING("{field}")' for field in fields)
    sets = ", ".join("(" + ", ".join(f'"{field}"' for field in group) + ")" for group in COMBINED_SETS)
    # Only our own column names are interpolated; every value travels as a parameter.
    query = (
        f"SELECT {columns}, {flags}, COUNT(*), SUM(is_top) FROM ({sql}) AS scoped "  # noqa: S608
        f"GROUP BY GROUPING SETS ({sets})"
    )
    width = len(fields)
    totals: dict[tuple[int, Any], list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for record in cursor.fetchall():
            n, top = int(record[-2]), int(record[-1] or 0)
            for index in range(width):
                if record[width + index] == 0:  # a field of the set this row groups by
                    counted = totals.setdefault((index, record[index]), [0, 0])
                    counted[0] += n
                    counted[1] += top
    counts = [(FEATURES[index].name, value, n, top) for (index, value), (n, top) in totals.items()]
    counts.sort(key=lambda item: (FEATURE_ORDER[item[0]], item[1] is None, str(item[1])))
    return counts


def top_features(*, scope: Scope, min_posts: int | None = None, alpha: float | None = None) -> dict[str, Any]:
    """Every feature value's share in the top 20% and in the rest, its lift and whether it is a finding."""
    min_posts = settings.ANALYTICS_MIN_POSTS if min_posts is None else min_posts
    alpha = settings.ANALYTICS_ALPHA if alpha is None else alpha
    rows = scored_posts(scope)
    total = rows.count()
    k = top_count(total)
    top_q, threshold = _top_filter(rows, total)
    values = [
        _row(FEATURES_BY_NAME[name], value, n, top, total, k, min_posts)
        for name, value, n, top in _counts(rows, top_q)
    ]
    tests = sum(1 for row in values if row["enough_data"])
    z_adjusted = z_for(alpha / tests) if tests else Z95
    for row in values:
        if row["enough_data"]:
            adjusted = relative_risk(
                row["top"], row["posts"], k - row["top"], total - row["posts"], z_adjusted
            )
            row["adjusted_interval"] = [adjusted.low, adjusted.high]
            row["significant"] = adjusted.low > 0 or adjusted.high < 0
    _label(values)
    return {
        "scope": scope.as_dict(),
        "posts": total,
        "top_count": k,
        "threshold": threshold,
        "min_posts": min_posts,
        "alpha": alpha,
        "tests": tests,
        "values": values,
    }


def _label(values: list[dict[str, Any]]) -> None:
    from analytics.analysis.labels import value_label

    kol_ids = {row["value"] for row in values if row["feature"] == "kol"}
    names = dict(KOL.objects.filter(pk__in=kol_ids).values_list("pk", "nickname")) if kol_ids else {}
    for row in values:
        row["feature_label"] = str(FEATURES_BY_NAME[row["feature"]].label)
        row["value_label"] = (
            names.get(row["value"], str(row["value"]))
            if row["feature"] == "kol"
            else value_label(row["feature"], row["value"])
        )


def findings(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The significant values, largest lift first."""
    found = [row for row in result["values"] if row["significant"]]
    return sorted(found, key=lambda row: -(row["lift"] or 0))
