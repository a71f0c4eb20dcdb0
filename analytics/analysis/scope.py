"""Which posts an analysis looks at: a period, optionally one KOL or persona, demo and dry runs left out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from analytics.features import TAIPEI
from analytics.models import PostFeatures

# The longest period an analysis may be asked for.
MAX_DAYS = 366


@dataclass(frozen=True)
class Scope:
    start: dt.date
    end: dt.date  # inclusive
    kol_id: int | None = None
    persona: str = ""
    include_demo: bool = False
    include_dry_run: bool = False
    include_late: bool = False

    @classmethod
    def default(cls, *, days: int | None = None, today: dt.date | None = None, **kwargs: object) -> Scope:
        today = today or timezone.now().astimezone(TAIPEI).date()
        days = days or settings.ANALYTICS_PERIOD_DAYS
        return cls(start=today - dt.timedelta(days=days - 1), end=today, **kwargs)  # type: ignore[arg-type]

    @property
    def key(self) -> str:
        """A stable name for stored results of this scope."""
        flags = "".join(
            flag
            for flag, on in (("d", self.include_demo), ("r", self.include_dry_run), ("l", self.include_late))
            if on
        )
        return f"{self.start}:{self.end}:{self.kol_id or ''}:{self.persona}:{flags}"

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "kol_id": self.kol_id,
            "persona": self.persona,
            "include_demo": self.include_demo,
            "include_dry_run": self.include_dry_run,
            "include_late": self.include_late,
        }

    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=TAIPEI)

    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=TAIPEI)


def scored_posts(scope: Scope) -> QuerySet[PostFeatures]:
    """The feature rows in scope. A score taken late is left out unless asked: never mixed in silently."""
    rows = PostFeatures.objects.filter(published_at__gte=scope.start_at(), published_at__lt=scope.end_at())
    if scope.kol_id:
        rows = rows.filter(kol_id=scope.kol_id)
    if scope.persona:
        rows = rows.filter(persona=scope.persona)
    if not scope.include_demo:
        rows = rows.filter(is_demo=False)
    if not scope.include_dry_run:
        rows = rows.filter(dry_run=False)
    if not scope.include_late:
        rows = rows.filter(score_late=False)
    return rows
