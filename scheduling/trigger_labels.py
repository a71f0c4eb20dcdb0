"""The words for a trigger's settings: each schema key's label and the type names, in the person's language.

Shared by the settings form (trigger_fields.py) and the schema's error sentences (trigger_types.py).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

KEY_LABELS: dict[str, Any] = {
    "stock_codes": gettext_lazy("Stock codes"),
    "industries": gettext_lazy("Industries"),
    "rank_by": gettext_lazy("Rank by"),
    "lookback_days": gettext_lazy("Look back (trading days)"),
    "limit": gettext_lazy("At most (stocks)"),
    "threshold_pct": gettext_lazy("Threshold (%)"),
    "ratio": gettext_lazy("Volume ratio at least"),
    "min_change_pct": gettext_lazy("Turnover change at least (%)"),
    "min_turnover_twd": gettext_lazy("Turnover at least (TWD)"),
    "keywords": gettext_lazy("Keywords"),
    "window_hours": gettext_lazy("News window (hours)"),
    "topics": gettext_lazy("Topics"),
    "require_news": gettext_lazy("Only with news"),
    "price": gettext_lazy("Price range (TWD)"),
    "change_pct": gettext_lazy("Change range (%)"),
    "volume_ratio_min": gettext_lazy("Volume ratio at least"),
    "market_cap_min_twd": gettext_lazy("Market cap at least (TWD)"),
    "market_cap_max_twd": gettext_lazy("Market cap at most (TWD)"),
    "change_pct_min": gettext_lazy("Move at least (%)"),
    "min": gettext_lazy("from"),
    "max": gettext_lazy("to"),
    "include_etfs": gettext_lazy("Include ETFs"),
}
CHOICE_LABELS: dict[str, Any] = {
    "change_pct": gettext_lazy("Change (%)"),
    "turnover": gettext_lazy("Turnover"),
    "volume_ratio": gettext_lazy("Volume ratio"),
    "market_cap": gettext_lazy("Market cap"),
}
TYPE_LABELS: dict[str, Any] = {
    "integer": gettext_lazy("whole number"),
    "number": gettext_lazy("number"),
    "boolean": gettext_lazy("yes or no"),
    "string": gettext_lazy("text"),
    "array": gettext_lazy("list"),
    "object": gettext_lazy("group of settings"),
}


def key_label(name: str) -> str:
    return str(KEY_LABELS.get(name, name))


def path_label(path: list[str]) -> str:
    """A key path such as ["price", "min"] as the form labels it: 「Price range (TWD)：from」.

    A list's index (["stock_codes", "0"]) is left out: the label names the list.
    """
    return "：".join(key_label(part) for part in path if not part.isdigit())
