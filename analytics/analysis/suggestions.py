"""zh-Hant sentences from significant findings only, each carrying its numbers.

「以問句結尾的貼文進入 24 小時互動分數前 20% 的機會高 35%（n=120，95% 區間 18–52%）」. A value without
enough data, or whose interval (after the multiple-comparison correction) includes zero, says nothing.
"""

from __future__ import annotations

from typing import Any

from analytics.analysis.labels import subject_zh
from analytics.analysis.top import findings


def _percent(value: float) -> int:
    return round(abs(value) * 100)


def suggestion_sentence(row: dict[str, Any]) -> str:
    low, high = row["lift_interval"]
    subject = subject_zh(row["feature"], row["value"], row["value_label"])
    if row["lift"] >= 0:
        return (
            f"{subject}進入 24 小時互動分數前 20% 的機會高 {_percent(row['lift'])}%"
            f"（n={row['posts']}，95% 區間 {_percent(low)}–{_percent(high)}%）"
        )
    return (
        f"{subject}進入 24 小時互動分數前 20% 的機會低 {_percent(row['lift'])}%"
        f"（n={row['posts']}，95% 區間 低 {_percent(high)}–{_percent(low)}%）"
    )


def suggestions(result: dict[str, Any], limit: int = 8) -> list[dict[str, Any]]:
    """The sentences, strongest finding first, with the finding each one comes from."""
    return [
        {
            "text": suggestion_sentence(row),
            "feature": row["feature"],
            "value": row["value"],
            "lift": row["lift"],
        }
        for row in findings(result)
        if row["lift"] is not None
    ][:limit]
