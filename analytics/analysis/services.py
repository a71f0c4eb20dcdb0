"""Writes of the analytics app: feature rows, the stored analyses the dashboards read, playbook proposals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from analytics.analysis.boards import best_times
from analytics.analysis.registry import ANALYSES
from analytics.analysis.scope import Scope, scored_posts
from analytics.analysis.suggestions import suggestions
from analytics.analysis.top import findings, top_features
from analytics.features import post_features_refresh
from analytics.models import AnalysisResult
from analytics.scoring import scores_recompute_pending
from kols.models import KOL
from kols.playbooks import playbook_propose


def analysis_compute(*, kind: str, scope: Scope) -> dict[str, Any]:
    return ANALYSES[kind](scope=scope)


def analysis_store(*, kind: str, scope: Scope) -> AnalysisResult:
    result, _created = AnalysisResult.objects.update_or_create(
        kind=kind,
        key=scope.key,
        defaults={"data": analysis_compute(kind=kind, scope=scope), "computed_at": timezone.now()},
    )
    return result


def analyses_refresh(*, today: dt.date | None = None) -> dict[str, int]:
    """The daily job: a score recompute that never finished, new feature rows, then every analysis of
    the default period, stored."""
    rescored = scores_recompute_pending()
    written = post_features_refresh()
    scope = Scope.default(today=today)
    for kind in ANALYSES:
        analysis_store(kind=kind, scope=scope)
    # Results of other periods and filters are computed on demand; old ones are not worth keeping.
    cutoff = timezone.now() - dt.timedelta(days=settings.ANALYTICS_PERIOD_DAYS)
    deleted, _rows = AnalysisResult.objects.filter(computed_at__lt=cutoff).delete()
    return {"rescored": rescored, "features_written": written, "analyses": len(ANALYSES), "deleted": deleted}


def _best_hours_from_findings(rows: list[dict[str, Any]], grid: dict[str, Any]) -> list[int]:
    """Hours with a significant positive finding, best shrunk mean first (never an hour without one)."""
    hours = {int(row["value"]) for row in rows if row["feature"] == "hour" and (row["lift"] or 0) > 0}
    by_hour: dict[int, float] = {}
    for cell in grid["cells"]:
        if cell["hour"] in hours and cell["posts"]:
            by_hour[cell["hour"]] = max(by_hour.get(cell["hour"], float("-inf")), cell["shrunk"])
    return sorted(hours, key=lambda hour: -by_hour.get(hour, 0.0))[:3]


def playbooks_propose(*, today: dt.date | None = None) -> dict[str, int]:
    """The weekly job: for each active KOL with enough scored posts, a proposed playbook built from its
    significant findings only. An Administrator reviews and activates it (kols/playbooks.py)."""
    proposed = skipped = 0
    for kol in KOL.objects.filter(status=KOL.Status.ACTIVE, is_demo=False).order_by("pk"):
        scope = Scope.default(today=today, kol_id=kol.pk)
        if scored_posts(scope).count() < settings.ANALYTICS_MIN_POSTS:
            skipped += 1
            continue
        result = top_features(scope=scope)
        found = [row for row in findings(result) if row["feature"] != "kol"]
        lines = [item["text"] for item in suggestions({**result, "values": found})]
        hours = _best_hours_from_findings(found, best_times(scope=scope))
        evidence = [
            {key: row[key] for key in ("feature", "value", "posts", "top", "lift", "lift_interval")}
            for row in found
        ]
        playbook = playbook_propose(kol=kol, lines=lines, best_hours=hours, evidence=evidence)
        proposed += playbook is not None
        skipped += playbook is None
    return {"proposed": proposed, "skipped": skipped}
