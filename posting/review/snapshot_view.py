"""The market snapshot a draft was written from, as a reviewer reads it: labelled rows with units.

The snapshot (posting/generation/context.py) stores prices as "104.00", volumes in shares and lots,
turnover in TWD and in 億, dates in ISO 8601. Here each becomes a row with a zh-Hant label and its unit
(元, 張, 億元, %); a value the snapshot does not have is "—", never ``None``; times are local, to the minute.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

DASH = "—"

_QUOTE_ROWS = (
    ("close", pgettext_lazy("market", "Close"), "price"),
    ("change", pgettext_lazy("market", "Change"), "signed_price"),
    ("change_pct", pgettext_lazy("market", "Change (%)"), "signed_pct"),
    ("open", pgettext_lazy("market", "Open"), "price"),
    ("high", pgettext_lazy("market", "High"), "price"),
    ("low", pgettext_lazy("market", "Low"), "price"),
    ("prev_close", pgettext_lazy("market", "Previous close"), "price"),
    ("volume_lots", pgettext_lazy("market", "Volume"), "lots"),
    ("turnover_100m_twd", pgettext_lazy("market", "Turnover"), "yi"),
    ("transactions", pgettext_lazy("market", "Trades"), "count"),
)
_FIGURE_ROWS = (
    ("ma5", pgettext_lazy("market", "5-day average close"), "price"),
    ("ma20", pgettext_lazy("market", "20-day average close"), "price"),
    ("ma60", pgettext_lazy("market", "60-day average close"), "price"),
    ("rsi14", pgettext_lazy("market", "RSI (14 days)"), "number"),
    ("volume_avg20_lots", pgettext_lazy("market", "20-day average volume"), "lots"),
    ("volume_ratio20", pgettext_lazy("market", "Volume against the 20-day average"), "times"),
)
_INDICATOR_NAMES = {
    "ma5": gettext_lazy("5-day average close"),
    "ma20": gettext_lazy("20-day average close"),
    "ma60": gettext_lazy("60-day average close"),
    "rsi14": gettext_lazy("RSI (14 days)"),
    "volume_ratio20": gettext_lazy("Volume against the 20-day average"),
    "range_20d": gettext_lazy("20-day range"),
    "day_range": gettext_lazy("Day range"),
    "macd": "MACD",
    "kd": "KD",
    "news": gettext_lazy("News"),
}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _plain(number: Decimal) -> str:
    text = f"{number:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value: Any, kind: str) -> str:
    """One snapshot value with its unit; "—" when the snapshot has none."""
    number = _decimal(value)
    if number is None:
        return DASH
    if kind == "price":
        return _("%(value)s 元") % {"value": _plain(number)}
    if kind == "signed_price":
        return _("%(value)s 元") % {"value": ("+" if number > 0 else "") + _plain(number)}
    if kind == "signed_pct":
        return ("+" if number > 0 else "") + _plain(number) + "%"
    if kind == "pct":
        return _plain(number) + "%"
    if kind == "lots":
        return _("%(value)s 張") % {"value": f"{int(number):,}"}
    if kind == "yi":
        return _("%(value)s 億元") % {"value": _plain(number)}
    if kind == "times":
        return _("%(value)s 倍") % {"value": _plain(number)}
    if kind == "count":
        return f"{int(number):,}"
    return _plain(number)


def _local_time(value: Any) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return DASH
    if timezone.is_naive(moment):
        return DASH
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _omitted_sentence(item: dict[str, Any]) -> str:
    name = str(_INDICATOR_NAMES.get(str(item.get("name", "")), item.get("name", "")))
    if item.get("reason") == "insufficient_history":
        return _("%(name)s: needs %(needs)s trading days, the snapshot has %(have)s.") % {
            "name": name,
            "needs": item.get("needs_days", DASH),
            "have": item.get("have_days", DASH),
        }
    if item.get("reason") == "missing_high_low":
        return _("%(name)s: the day has no high or low.") % {"name": name}
    return _("%(name)s: not available.") % {"name": name}


def _figure_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        (str(label), format_value(figures.get(key), kind))
        for key, label, kind in _FIGURE_ROWS
        if key in figures
    ]
    day = figures.get("day_range") or {}
    if day:
        rows.append((str(_("Day amplitude")), format_value(day.get("amplitude_pct"), "pct")))
    span = figures.get("range_20d") or {}
    if span:
        low, high = format_value(span.get("low"), "price"), format_value(span.get("high"), "price")
        rows.append((str(_("20-day range")), f"{low} – {high}"))
    return rows


def snapshot_table(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    """What the post page shows of ``post.market_snapshot``; empty dict when there is none."""
    if not snapshot:
        return {}
    stock = snapshot.get("stock") or {}
    quote = snapshot.get("quote") or {}
    history = snapshot.get("history") or []
    trigger = snapshot.get("trigger") or {}
    return {
        "stock": f"{stock.get('name', '')}（{stock.get('code', '')}）" if stock else DASH,
        "industry": stock.get("industry") or DASH,
        "as_of": quote.get("date") or snapshot.get("as_of") or DASH,
        "built_at": _local_time(snapshot.get("built_at")),
        "quote_rows": [(str(label), format_value(quote.get(key), kind)) for key, label, kind in _QUOTE_ROWS],
        "figure_rows": _figure_rows(snapshot.get("figures") or {}),
        "omitted": [
            _omitted_sentence(item) for item in snapshot.get("omitted") or [] if isinstance(item, dict)
        ],
        "history": {"days": len(history), "first": history[0].get("date") if history else DASH},
        "news": [
            {"title": item.get("title", ""), "source": item.get("source") or "", "url": item.get("url") or ""}
            for item in snapshot.get("news") or []
            if isinstance(item, dict)
        ],
        "reasons": [str(reason) for reason in trigger.get("reasons") or []],
    }
