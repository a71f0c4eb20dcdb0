"""Does the playbook help? The mean 24 h score of guided posts against the control group (generated
without the playbook, drawn at random per batch item), per KOL and overall.

The lift is mean(guided) / mean(control) - 1 with a 95% delta-method interval on the log scale. A lift
is claimed only when the interval, Bonferroni-corrected across the overall test and every KOL's,
excludes zero, and each group has at least ANALYTICS_MIN_POSTS posts; otherwise it says so plainly.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, F, FloatField

from analytics.analysis.scope import Scope, scored_posts
from analytics.analysis.stats import Z95, Moments, ratio_of_means, z_for
from kols.models import KOL


def _groups(rows: Any, *fields: str) -> dict[tuple[Any, ...], dict[str, Moments]]:
    grouped = (
        rows.filter(playbook_group__in=["guided", "control"])
        .order_by()
        .values(*fields, "playbook_group")
        .annotate(
            n=Count("pk"), mean=Avg("score"), mean_sq=Avg(F("score") * F("score"), output_field=FloatField())
        )
    )
    out: dict[tuple[Any, ...], dict[str, Moments]] = {}
    for row in grouped:
        key = tuple(row[field] for field in fields)
        out.setdefault(key, {})[row["playbook_group"]] = Moments.from_sums(
            row["n"], row["mean"] * row["n"], row["mean_sq"] * row["n"]
        )
    return out


def _comparison(groups: dict[str, Moments], min_posts: int, z_claim: float) -> dict[str, Any]:
    guided, control = groups.get("guided", Moments(0, 0, 0)), groups.get("control", Moments(0, 0, 0))
    entry: dict[str, Any] = {
        "guided_posts": guided.n,
        "control_posts": control.n,
        "guided_mean": guided.mean if guided.n else None,
        "control_mean": control.mean if control.n else None,
        "lift": None,
        "interval": None,
        "enough_data": guided.n >= min_posts and control.n >= min_posts,
        "helps": False,
        "hurts": False,
    }
    ratio = ratio_of_means(guided, control, Z95) if entry["enough_data"] else None
    if ratio is None:
        entry["enough_data"] = False
        return entry
    claim = ratio_of_means(guided, control, z_claim)
    assert claim is not None
    entry.update(lift=ratio.lift, interval=[ratio.low, ratio.high], helps=claim.low > 0, hurts=claim.high < 0)
    return entry


def learning_lift(
    *, scope: Scope, min_posts: int | None = None, alpha: float | None = None
) -> dict[str, Any]:
    min_posts = settings.ANALYTICS_MIN_POSTS if min_posts is None else min_posts
    alpha = settings.ANALYTICS_ALPHA if alpha is None else alpha
    rows = scored_posts(scope)
    per_kol = _groups(rows, "kol_id")
    overall = _groups(rows).get((), {})
    tests = 1 + len(per_kol)
    z_claim = z_for(alpha / tests)
    names = dict(KOL.objects.filter(pk__in=[key[0] for key in per_kol]).values_list("pk", "nickname"))
    kols = [
        {"kol_id": key[0], "name": names.get(key[0], str(key[0])), **_comparison(groups, min_posts, z_claim)}
        for key, groups in sorted(per_kol.items(), key=lambda item: names.get(item[0][0], ""))
    ]
    return {
        "scope": scope.as_dict(),
        "min_posts": min_posts,
        "alpha": alpha,
        "overall": _comparison(overall, min_posts, z_claim),
        "kols": kols,
    }
