"""Grounding: every figure in a draft must match a figure in its market snapshot.

The snapshot's own numbers (close, open, high, low, change, change_pct, volume in shares, turnover in
TWD, and any averages, ranges or history the context added) are read by key name; figures derived from
them (previous close, change %, amplitude, intraday move, limit prices, volume against its averages) and
figures quoted in its text (news headlines) count as well. A figure matches when the snapshot value lies
within what the text's precision and hedge allow: 「104元」 covers 103.5–105 (rounded or cut), 「約4%」 ±5%
or one unit, 「近1%」 a little under, 「逾三成」 over, 「不到2%」 under.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from posting.checks.numbers import Figure, Kind, figures_in_reference_text
from posting.checks.types import Finding, Severity

_MAX_VALUES = 5000
_MAX_DEPTH = 4
_NUMERIC_TEXT = re.compile(r"^\s*[+-]?\d+(\.\d+)?\s*$")
_SKIP_TOKENS = {
    "date",
    "time",
    "code",
    "id",
    "year",
    "days",
    "day",
    "period",
    "window",
    "count",
    "n",
    "rank",
    "transactions",
    "trades",
    "version",
    "serial",
}
_PRICE_TOKENS = {
    "close",
    "open",
    "high",
    "low",
    "price",
    "avg",
    "average",
    "mean",
    "vwap",
    "support",
    "resistance",
    "prev",
    "previous",
    "limit",
    "max",
    "min",
    "last",
    "level",
    "ma",
    "sma",
    "ema",
}
_PRICE_WITH_PERIOD = re.compile(r"^(ma|sma|ema|avg|high|low|max|min)\d+[dwm]?$")


@dataclass(frozen=True)
class Reference:
    """A snapshot figure. ``signed`` marks a price move whose sign must agree with the text's direction;
    ``volume`` marks a volume comparison, which a direction word (量增, 下滑) may describe as well."""

    label: str
    value: float
    signed: bool = False
    volume: bool = False


@dataclass
class Pools:
    by_kind: dict[str, list[Reference]] = field(default_factory=dict)

    def add(
        self, kind: str, label: str, value: float | None, *, signed: bool = False, volume: bool = False
    ) -> None:
        if value is None or not math.isfinite(value):
            return
        self.by_kind.setdefault(kind, []).append(
            Reference(label=label, value=value, signed=signed, volume=volume)
        )

    def for_figure(self, kind: Kind) -> list[Reference]:
        wanted = {
            "price": ("price", "other"),
            "change": ("change", "other"),
            "percent": ("percent", "other"),
            "volume": ("volume", "other"),
            "turnover": ("turnover", "other"),
            "amount": ("price", "change", "turnover", "other"),
        }[kind]
        references = [ref for name in wanted for ref in self.by_kind.get(name, [])]
        if kind == "volume":
            # An unnamed figure next to volumes (institutional net buying…) is usually in lots.
            references += [
                Reference(label=f"{ref.label} (lots)", value=ref.value * 1000)
                for ref in self.by_kind.get("other", [])
            ]
        return references

    def __bool__(self) -> bool:
        return any(self.by_kind.values())


# --- Reading the snapshot ---------------------------------------------------------------------------


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str) and _NUMERIC_TEXT.match(value):
        try:
            return float(Decimal(value.strip()))
        except InvalidOperation:
            return None
    return None


def _key_kind(key: str) -> str | None:
    lowered = key.lower()
    tokens = [token for token in re.split(r"[^a-z0-9]+", lowered) if token]
    if any(token in _SKIP_TOKENS for token in tokens):
        return None
    if any(marker in lowered for marker in ("pct", "percent", "ratio", "rate", "yield", "amplitude", "%")):
        return "percent"
    if ("vol" in lowered and "volat" not in lowered) or "shares" in tokens or "lots" in tokens:
        return "volume"
    if any(marker in lowered for marker in ("turnover", "amount", "value", "money")):
        return "turnover"
    if any(marker in tokens for marker in ("change", "chg", "diff", "delta", "spread", "range")):
        return "change"
    if any(token in _PRICE_TOKENS or _PRICE_WITH_PERIOD.match(token) for token in tokens):
        return "price"
    return "other"


_DATE_KEYS = ("date", "trade_date", "as_of", "day")
_RECENT_ROWS = 5


def _recent(items: Sequence[Any]) -> Sequence[Any]:
    """Only the latest rows of a dated history: sixty days of prices would ground almost any price."""
    dated = [item for item in items if isinstance(item, Mapping) and any(key in item for key in _DATE_KEYS)]
    if len(dated) != len(items) or len(items) <= _RECENT_ROWS:
        return items

    def date_of(item: Mapping[str, Any]) -> str:
        return str(next(item[key] for key in _DATE_KEYS if key in item))

    return sorted(dated, key=date_of)[-_RECENT_ROWS:]


def _walk(value: Any, path: str, key: str, depth: int, out: list[tuple[str, str, Any]]) -> None:
    if len(out) >= _MAX_VALUES or depth > _MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for child_key, child in value.items():
            _walk(child, f"{path}.{child_key}" if path else str(child_key), str(child_key), depth + 1, out)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(_recent(value)):
            _walk(child, f"{path}[{index}]", key, depth + 1, out)
    else:
        out.append((path, key, value))


def snapshot_pools(snapshot: Mapping[str, Any]) -> Pools:
    pools = Pools()
    leaves: list[tuple[str, str, Any]] = []
    _walk(snapshot, "", "", 0, leaves)
    for path, key, value in leaves:
        number = as_number(value)
        if number is not None:
            _add_value(pools, path, key, number)
        elif isinstance(value, str) and value.strip():
            for figure in figures_in_reference_text(value):
                for reading in figure.readings():
                    pools.add(figure.kind, f"{path} ({figure.text})", reading)
                    pools.add("other", f"{path} ({figure.text})", reading)
    _add_derived(pools, latest_quote(snapshot))
    return pools


def latest_quote(snapshot: Mapping[str, Any]) -> Mapping[str, Any]:
    """The day's quote: the snapshot itself, or the object under "quote" the generation context uses."""
    if as_number(snapshot.get("close")) is not None:
        return snapshot
    for key in ("quote", "latest", "today"):
        nested = snapshot.get(key)
        if isinstance(nested, Mapping) and as_number(nested.get("close")) is not None:
            return nested
    return snapshot


def _add_value(pools: Pools, path: str, key: str, number: float) -> None:
    kind = _key_kind(key)
    if kind is None:
        return
    tokens = set(re.split(r"[^a-z0-9]+", key.lower()))
    # Figures restated in bigger units (volume_lots, turnover_100m_twd) are compared in base units.
    if "lots" in tokens:
        number *= 1000
    elif "100m" in tokens:
        number *= 100_000_000
    signed = kind in ("percent", "change") and key.lower() in ("change", "change_pct", "chg", "chg_pct")
    pools.add(kind, path, number, signed=signed)
    lowered = key.lower()
    if kind == "percent" and ("ratio" in lowered or "rate" in lowered) and abs(number) <= 10:
        # A ratio of 1.8 is written 「180%」 or 「增加80%」; a rate of 0.05 as 「5%」.
        pools.add("percent", f"{path}×100", number * 100)
        pools.add("percent", f"({path}−1)×100", abs(number - 1) * 100)


def _top(snapshot: Mapping[str, Any], *names: str) -> float | None:
    for name in names:
        number = as_number(snapshot.get(name))
        if number is not None:
            return number
    return None


def _add_derived(pools: Pools, snapshot: Mapping[str, Any]) -> None:
    close, open_ = _top(snapshot, "close"), _top(snapshot, "open")
    high, low = _top(snapshot, "high"), _top(snapshot, "low")
    change = _top(snapshot, "change")
    prev = _top(snapshot, "prev_close", "previous_close")
    if prev is None and close is not None and change is not None:
        prev = close - change
        pools.add("price", "close − change (previous close)", prev)
    if change is None and close is not None and prev is not None:
        pools.add("change", "close − previous close", close - prev, signed=True)
    if change is not None and prev:
        # Also when change_pct is given: it may be a fraction (0.04) where the text says 4%.
        pools.add("percent", "change ÷ previous close", change / prev * 100, signed=True)
    if high is not None and low is not None:
        pools.add("change", "high − low", high - low)
        if prev:
            pools.add("percent", "(high − low) ÷ previous close (amplitude)", (high - low) / prev * 100)
    if close is not None and open_:
        pools.add("change", "close − open", close - open_, signed=True)
        pools.add("percent", "(close − open) ÷ open", (close - open_) / open_ * 100, signed=True)
    if prev:
        limit_up, limit_down = limit_prices(prev)
        pools.add("price", "limit up", limit_up)
        pools.add("price", "limit down", limit_down)
    _add_volume_ratios(pools, snapshot)


def _tick(price: float) -> float:
    # TWSE/TPEx tick sizes by price band.
    for ceiling, tick in ((10, 0.01), (50, 0.05), (100, 0.1), (500, 0.5), (1000, 1.0)):
        if price < ceiling:
            return tick
    return 5.0


def _limit_price(raw: float, *, round_down: bool) -> float:
    tick = _tick(raw)
    steps = math.floor(raw / tick + 1e-9) if round_down else math.ceil(raw / tick - 1e-9)
    return round(steps * tick, 2)


def limit_prices(previous_close: float) -> tuple[float, float]:
    """The day's limit-up and limit-down prices (±10% of the previous close, on the tick grid)."""
    return (
        _limit_price(previous_close * 1.1, round_down=True),
        _limit_price(previous_close * 0.9, round_down=False),
    )


def _add_volume_ratios(pools: Pools, quote: Mapping[str, Any]) -> None:
    volume = _top(quote, "volume")
    if not volume:
        return
    for ref in pools.by_kind.get("volume", []):
        if abs(ref.value - volume) > 0.5 and ref.value:
            pools.add("percent", f"volume ÷ {ref.label}", volume / ref.value * 100, volume=True)
            pools.add("percent", f"volume vs {ref.label}", abs(volume / ref.value - 1) * 100, volume=True)


# --- Matching ---------------------------------------------------------------------------------------


def bounds(figure: Figure, value: float, precision: float) -> tuple[float, float]:
    """The snapshot values the written figure can stand for."""
    unit = precision
    if figure.high is not None:
        high = figure.high * (value / figure.value) if figure.value else figure.high
        return value - unit / 2, high + unit / 2
    if figure.hedge == "approx":
        slack = max(unit, 0.05 * value)
        return value - slack, value + slack
    if figure.hedge == "near":
        return value - max(unit, 0.1 * value), value + unit / 2
    if figure.hedge == "over":
        return value - unit / 2, value + max(unit, value)
    if figure.hedge == "under":
        return max(0.0, value - max(unit, value)), value + unit / 2
    # Written exactly: rounded (±half a unit) or cut off (up to, not including, one unit more).
    return value - unit / 2, value + unit * 0.999


def matches(figure: Figure, reference: Reference) -> bool:
    actual = reference.value
    if figure.sign is not None and not (reference.signed or reference.volume):
        # 「漲幅6%」 is the day's change, not the amplitude that happens to be 6%.
        return False
    if figure.sign is not None and actual != 0 and (actual > 0) != (figure.sign > 0) and not reference.volume:
        return False
    actual = abs(actual)
    for reading in figure.readings():
        precision = figure.precision * (reading / figure.value) if figure.value else figure.precision
        low, high = bounds(figure, reading, precision)
        if low - 1e-9 <= actual <= high + 1e-9:
            return True
    return False


def nearest(figure: Figure, references: Sequence[Reference]) -> Reference | None:
    if not references:
        return None
    return min(references, key=lambda ref: abs(abs(ref.value) - figure.value))


@dataclass(frozen=True)
class GroundingResult:
    checked: bool
    reason: str
    figures: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]

    @property
    def counted(self) -> int:
        return sum(1 for figure in self.figures if not figure["forecast"])

    @property
    def grounded(self) -> int:
        return sum(1 for figure in self.figures if figure.get("grounded_by"))

    @property
    def ratio(self) -> float | None:
        if not self.checked or not self.counted:
            return None
        return round(self.grounded / self.counted, 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "reason": self.reason,
            "figures_counted": self.counted,
            "figures_grounded": self.grounded,
            "ratio": self.ratio,
            "figures": list(self.figures),
        }


def grounding_severity() -> Severity:
    return "block" if settings.GROUNDING_SEVERITY == "block" else "warn"


def _describe(figure: Figure, grounded_by: Reference | None) -> dict[str, Any]:
    return {
        "text": figure.text,
        "kind": figure.kind,
        "value": figure.value,
        "field": figure.field,
        "start": figure.start,
        "end": figure.end,
        "forecast": figure.forecast,
        "grounded_by": grounded_by.label if grounded_by else None,
    }


def _ungrounded(figure: Figure, references: Sequence[Reference]) -> Finding:
    closest = nearest(figure, references)
    unsigned = replace(figure, sign=None)
    contrary = next((ref for ref in references if ref.signed and matches(unsigned, ref)), None)
    if contrary is not None:
        message = _(
            "「%(figure)s」 states the opposite direction of the market snapshot (%(label)s = %(value)s)."
        ) % {
            "figure": figure.text,
            "label": contrary.label,
            "value": f"{contrary.value:+,.4g}",
        }
        closest = contrary
    elif closest is None:
        message = _("「%(figure)s」 matches no figure in the market snapshot.") % {"figure": figure.text}
    else:
        message = _(
            "「%(figure)s」 matches no figure in the market snapshot (nearest: %(label)s = %(value)s)."
        ) % {
            "figure": figure.text,
            "label": closest.label,
            "value": f"{closest.value:,.4g}" if abs(closest.value) < 1e6 else f"{closest.value:,.0f}",
        }
    return Finding(
        code=f"grounding.ungrounded_{figure.kind}",
        severity=grounding_severity(),
        excerpt=figure.text,
        message=message,
        field=figure.field,
        start=figure.start,
        end=figure.end,
        detail={
            "kind": figure.kind,
            "value": figure.value,
            "nearest": closest.label if closest else None,
            "reference": {"label": closest.label, "value": closest.value} if closest else None,
        },
    )


def ground(figures: Iterable[Figure], snapshot: Mapping[str, Any] | None) -> GroundingResult:
    figures = list(figures)
    if snapshot is None:
        reason = _("No market snapshot was given, so figures were not checked.")
        return GroundingResult(False, reason, tuple(_describe(f, None) for f in figures), ())
    pools = snapshot_pools(snapshot)
    if not pools:
        reason = _("The market snapshot has no figures, so figures were not checked.")
        return GroundingResult(False, reason, tuple(_describe(f, None) for f in figures), ())
    described: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for figure in figures:
        references = pools.for_figure(figure.kind)
        grounded_by = None if figure.forecast else next((r for r in references if matches(figure, r)), None)
        described.append(_describe(figure, grounded_by))
        if grounded_by is None and not figure.forecast:
            findings.append(_ungrounded(figure, references))
    return GroundingResult(True, "", tuple(described), tuple(findings))
