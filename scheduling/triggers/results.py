"""What a trigger returns: ranked candidates with their reasons as data, and what it had to leave out."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from market.models import Stock


@dataclass(frozen=True)
class Candidate:
    """One stock (or, for macro, one topic) a trigger picked.

    ``reasons`` are data with the numbers behind the pick (a generated post can quote them and a
    reviewer can check them); ``summary`` is the same in one readable sentence.
    """

    trigger_type: str
    rank: int
    score: float
    summary: str
    reasons: list[dict[str, Any]]
    stock: Stock | None = None
    topic: str = ""

    @property
    def key(self) -> str:
        """Stable identity within one trigger run, e.g. for ``Post.trigger_key``."""
        if self.stock is not None:
            return f"stock:{self.stock.code}"
        return f"topic:{self.topic}"[:100]

    @property
    def industry(self) -> str:
        return self.stock.industry if self.stock is not None else ""

    def as_dict(self) -> dict[str, Any]:
        stock = None
        if self.stock is not None:
            stock = {
                "id": self.stock.pk,
                "code": self.stock.code,
                "name": self.stock.name,
                "industry": self.stock.industry,
                "market": self.stock.market,
            }
        return {
            "rank": self.rank,
            "key": self.key,
            "stock": stock,
            "topic": self.topic or None,
            "score": self.score,
            "summary": self.summary,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class Exclusion:
    """A stock (or macro topic) the trigger could not judge or had to leave out, and why."""

    stock_code: str
    stock_name: str
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    topic: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "stock_code": self.stock_code,
            "stock_name": self.stock_name,
            "topic": self.topic or None,
            "code": self.code,
            "message": self.message,
            "details": self.details,
        }


@dataclass(frozen=True)
class TriggerResult:
    trigger_type: str
    config: dict[str, Any]
    as_of: dt.date | None
    previous_day: dt.date | None
    candidates: list[Candidate]
    excluded: list[Exclusion]
    # How many qualified before ``limit`` cut the list.
    matched: int
    notes: list[str] = field(default_factory=list)

    @property
    def excluded_counts(self) -> dict[str, int]:
        return dict(Counter(exclusion.code for exclusion in self.excluded))

    def as_dict(self) -> dict[str, Any]:
        return {
            "trigger_type": self.trigger_type,
            "config": self.config,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "previous_day": self.previous_day.isoformat() if self.previous_day else None,
            "matched": self.matched,
            "candidates": [candidate.as_dict() for candidate in self.candidates],
            "excluded_counts": self.excluded_counts,
            "excluded": [exclusion.as_dict() for exclusion in self.excluded],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Pick:
    """A qualifying stock or topic before ranking. ``order`` sorts ascending: best first."""

    order: tuple[Any, ...]
    score: float
    summary: str
    reasons: list[dict[str, Any]]
    stock_id: int | None = None
    topic: str = ""


def candidates_rank(*, trigger_type: str, limit: int | None, picks: Sequence[Pick]) -> list[Candidate]:
    """The best ``limit`` picks as candidates, ranked from 1, with their stocks loaded in one query."""
    ranked = sorted(picks, key=lambda pick: pick.order)
    if limit is not None:
        ranked = ranked[:limit]
    stocks = Stock.objects.in_bulk([pick.stock_id for pick in ranked if pick.stock_id is not None])
    return [
        Candidate(
            trigger_type=trigger_type,
            rank=position,
            score=pick.score,
            summary=pick.summary,
            reasons=pick.reasons,
            stock=stocks[pick.stock_id] if pick.stock_id is not None else None,
            topic=pick.topic,
        )
        for position, pick in enumerate(ranked, start=1)
    ]
