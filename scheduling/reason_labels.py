"""Why a trigger picked or left out a stock, and why a KOL could not take it, in words.

Triggers and the allocation record reasons as data (``{"code": "hourly_cap", "count": 2, "cap": 2}``) so
that runs can be compared; the workbench and the run pages show them through ``reason_text``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from scheduling.trigger_labels import CHOICE_LABELS, KEY_LABELS

CODE_LABELS: dict[str, Any] = {
    # Why a trigger picked a stock.
    "individual": _("listed in the schedule"),
    "sector": _("leads its sector"),
    "industry": _("in a chosen industry"),
    "ranked_by": _("ranked"),
    "volume_ratio": _("volume ratio"),
    "volume_surge": _("volume surge"),
    "turnover_leader": _("turnover leader"),
    "turnover_change": _("turnover change"),
    "price_range": _("within the price range"),
    "change_range": _("within the change range"),
    "market_cap": _("within the market-cap range"),
    "news": _("in the news"),
    "macro_topic": _("macro topic"),
    # Why a trigger left a stock out.
    "missing_day": _("no quote on the market day"),
    "suspended": _("suspended (no trade)"),
    "missing_previous_day": _("no quote on the previous day"),
    "no_previous_close": _("no previous close"),
    "no_previous_turnover": _("no previous turnover"),
    # Why a KOL could not take a stock, and why a draft stayed in the queue.
    "hourly_cap": _("hourly cap reached"),
    "daily_cap": _("daily cap reached"),
    "same_stock_today": _("already wrote about this stock today"),
    "strategy": _("allocation strategy"),
    "stock_window_full": _("enough posts on this stock for now"),
    "not_pending_review": _("not waiting for review"),
    "blocking_finding": _("a check blocks it"),
    "not_checked": _("not checked yet"),
    "quality_below_minimum": _("quality below the minimum"),
    "refused": _("refused"),
}
FACT_LABELS: dict[str, Any] = {
    "change_pct": _("change (%)"),
    "previous_close": _("previous close"),
    "rank_by": _("ranked by"),
    "volume_ratio": _("volume ratio"),
    "min": _("minimum"),
    "count": _("so far"),
    "cap": _("cap"),
    "quality": _("quality"),
    "minimum": _("minimum"),
    "status": _("status"),
    "findings": _("findings"),
    "message": _("message"),
    "close": _("close"),
    "volume": _("volume"),
    "turnover": _("turnover"),
    "turnover_twd": _("turnover (TWD)"),
    "market_cap_twd": _("market cap (TWD)"),
    "issued_shares": _("issued shares"),
    "industry": _("industry"),
    "previous_day": _("previous day"),
    "day": _("day"),
}


def code_label(code: str) -> str:
    return str(CODE_LABELS.get(code, code))


def _fact(key: str, value: Any) -> str:
    label = FACT_LABELS.get(key) or KEY_LABELS.get(key) or key
    if isinstance(value, str):
        value = CHOICE_LABELS.get(value, value)
    elif isinstance(value, list | tuple):
        value = "、".join(str(item) for item in value)
    return f"{label} {value}"


def reason_text(reason: Mapping[str, Any]) -> str:
    """One reason: its code in words, then its figures ("hourly cap reached (so far 2, cap 2)")."""
    facts = [_fact(key, value) for key, value in reason.items() if key not in ("code", "kol", "kol_id")]
    head = code_label(str(reason.get("code", "")))
    return f"{head}（{'，'.join(facts)}）" if facts else head


def reasons_text(reasons: Sequence[Mapping[str, Any]]) -> str:
    return "；".join(reason_text(reason) for reason in reasons)
