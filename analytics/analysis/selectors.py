"""Reads for the dashboards and the API: the stored result of an analysis, or the analysis itself."""

from __future__ import annotations

from typing import Any

from analytics.analysis.registry import ANALYSES
from analytics.analysis.scope import Scope
from analytics.models import AnalysisResult


def analysis_read(*, kind: str, scope: Scope) -> dict[str, Any]:
    """The result the daily job stored for this scope, or (other periods and filters) computed now."""
    stored = AnalysisResult.objects.filter(kind=kind, key=scope.key).first()
    if stored is not None:
        return {**stored.data, "computed_at": stored.computed_at.isoformat(), "stored": True}
    return {**ANALYSES[kind](scope=scope), "computed_at": None, "stored": False}
