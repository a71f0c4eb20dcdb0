"""What the draft checks report: findings with where they are, scores with how they were made."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from typing import Any, Literal

Severity = Literal["block", "warn"]
Field = Literal["title", "body"]
SEVERITIES: tuple[Severity, ...] = ("block", "warn")


@dataclass(frozen=True)
class Finding:
    """One problem in a draft.

    ``start``/``end`` are character offsets into the original ``field`` text (title or body), so the admin
    can highlight ``excerpt``; both are None for a finding about the whole text.
    """

    code: str
    severity: Severity
    excerpt: str
    message: str
    field: Field | None = None
    start: int | None = None
    end: int | None = None
    detail: dict[str, Any] = dataclass_field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Part:
    """One measured part of a score: its value 0–1 (None when it could not be measured) and its weight."""

    value: float | None
    weight: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "weight": self.weight, "detail": self.detail}


def weighted_score(parts: dict[str, Part]) -> tuple[float, dict[str, Part]]:
    """The weighted mean of the measured parts; unmeasured parts give their weight to the others."""
    measured = {name: part for name, part in parts.items() if part.value is not None}
    total = sum(part.weight for part in measured.values())
    effective: dict[str, Part] = {}
    for name, part in parts.items():
        weight = round(part.weight / total, 4) if part.value is not None and total else 0.0
        effective[name] = Part(value=part.value, weight=weight, detail=part.detail)
    if not total:
        return 0.0, effective
    score = sum((part.value or 0.0) * part.weight for part in measured.values()) / total
    return round(min(1.0, max(0.0, score)), 4), effective
