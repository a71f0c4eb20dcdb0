"""Every stored analysis by name: what the daily job refreshes and the dashboards and API read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analytics.analysis.boards import best_times, daily_trend, leaderboard
from analytics.analysis.effort import editor_effort
from analytics.analysis.learning import learning_lift
from analytics.analysis.scope import Scope
from analytics.analysis.suggestions import suggestions
from analytics.analysis.top import top_features


def top_with_suggestions(*, scope: Scope) -> dict[str, Any]:
    result = top_features(scope=scope)
    result["suggestions"] = suggestions(result)
    return result


ANALYSES: dict[str, Callable[..., dict[str, Any]]] = {
    "top_features": top_with_suggestions,
    "best_times": best_times,
    "leaderboard": lambda *, scope: leaderboard(scope=scope, by="kol"),
    "persona_leaderboard": lambda *, scope: leaderboard(scope=scope, by="persona"),
    "daily_trend": daily_trend,
    "editor_effort": editor_effort,
    "learning_lift": learning_lift,
}
