"""Which KOL writes about which candidate, within every hard limit. Reads only; writes nothing.

Strategies only decide the order in which KOLs are offered a candidate; the first KOL within all limits
takes it. The limits, whatever the strategy:

* paused KOLs are never allocated;
* each KOL's ``max_posts_per_hour`` and ``max_posts_per_day``, counting its posts created this clock
  hour / this day in Asia/Taipei (rejected and expired ones do not count) plus this allocation's;
* no KOL on the same stock (or macro topic) twice on one Asia/Taipei day;
* at most ``ALLOCATION_MAX_PERSONAS_PER_STOCK`` different KOLs on one stock (or topic) within the last
  ``ALLOCATION_STOCK_WINDOW_MINUTES``, so the accounts never look like a coordinated push.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from kols.models import KOL, Persona
from posting.models import BatchItem, Post
from scheduling.models import Schedule
from scheduling.trigger_types import TriggerType
from scheduling.triggers.results import Candidate

TAIPEI = ZoneInfo("Asia/Taipei")
Strategy = Schedule.Allocation

# Posts that never went anywhere do not count against a KOL.
_NOT_COUNTED = (Post.Status.REJECTED, Post.Status.EXPIRED)

# Which personas a trigger's candidates suit (the expertise strategy's "persona affinity").
PERSONA_AFFINITY: dict[str, set[str]] = {
    TriggerType.INDIVIDUAL: {Persona.FUNDAMENTAL, Persona.VALUE},
    TriggerType.SECTOR: {Persona.FUNDAMENTAL, Persona.VALUE},
    TriggerType.LIMIT_UP: {Persona.TECHNICAL, Persona.SENTIMENT, Persona.CHIPS},
    TriggerType.LIMIT_DOWN: {Persona.TECHNICAL, Persona.SENTIMENT, Persona.CHIPS},
    TriggerType.VOLUME_SURGE: {Persona.TECHNICAL, Persona.CHIPS},
    TriggerType.TURNOVER_LEADERS: {Persona.CHIPS, Persona.TECHNICAL},
    TriggerType.TURNOVER_CHANGE: {Persona.CHIPS, Persona.TECHNICAL},
    TriggerType.TOP_GAINERS: {Persona.TECHNICAL, Persona.SENTIMENT},
    TriggerType.TOP_LOSERS: {Persona.TECHNICAL, Persona.SENTIMENT, Persona.VALUE},
    TriggerType.NEWS: {Persona.NEWS, Persona.SENTIMENT},
    TriggerType.MACRO: {Persona.MACRO, Persona.NEWS},
    TriggerType.CUSTOM: {Persona.FUNDAMENTAL, Persona.VALUE, Persona.TECHNICAL},
    TriggerType.INTRADAY: {Persona.TECHNICAL},
}
INDUSTRY_POINTS = 3
KEYWORD_POINTS = 2
PERSONA_POINTS = 1


class AllocationError(ServiceError):
    code = "allocation_invalid"


@dataclass(frozen=True)
class Assignment:
    candidate: Candidate
    kol: KOL
    reasons: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.as_dict(),
            "kol": {"id": self.kol.pk, "nickname": self.kol.nickname, "persona": self.kol.persona},
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class Skip:
    """A candidate no KOL could take: ``code`` says why, ``blocked`` why each KOL could not."""

    candidate: Candidate
    code: str
    message: str
    blocked: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.as_dict(),
            "code": self.code,
            "message": self.message,
            "blocked": self.blocked,
        }


@dataclass(frozen=True)
class AllocationResult:
    strategy: str
    assignments: list[Assignment]
    skipped: list[Skip]
    paused: list[KOL]

    def as_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "assignments": [assignment.as_dict() for assignment in self.assignments],
            "skipped": [skip.as_dict() for skip in self.skipped],
            "paused_kols": [kol.pk for kol in self.paused],
        }


def _subject(candidate: Candidate) -> tuple[str, int | str]:
    """What the same-day and window rules key on: the stock, or the topic of a topic post."""
    if candidate.stock is not None:
        return ("stock", candidate.stock.pk)
    return ("topic", candidate.topic)


# --- What already happened: read once, then tracked in memory as this allocation assigns ---------------


@dataclass
class _Ledger:
    now: dt.datetime
    hour_counts: dict[int, int]
    day_counts: dict[int, int]
    today: set[tuple[int, tuple[str, int | str]]]
    window: dict[tuple[str, int | str], set[int]]
    last_posted: dict[int, dt.datetime]
    max_kols: int
    window_minutes: int
    assigned: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def blocked(self, kol: KOL, candidate: Candidate) -> dict[str, Any] | None:
        """Why ``kol`` may not take ``candidate`` now, as data; None when it may."""
        hour, day = self.hour_counts.get(kol.pk, 0), self.day_counts.get(kol.pk, 0)
        subject = _subject(candidate)
        if hour >= kol.max_posts_per_hour:
            return {"code": "hourly_cap", "count": hour, "cap": kol.max_posts_per_hour}
        if day >= kol.max_posts_per_day:
            return {"code": "daily_cap", "count": day, "cap": kol.max_posts_per_day}
        if (kol.pk, subject) in self.today:
            return {"code": "same_stock_today"}
        others = self.window.get(subject, set()) - {kol.pk}
        if len(others) >= self.max_kols:
            return {
                "code": "stock_window_full",
                "kols": len(others),
                "max": self.max_kols,
                "window_minutes": self.window_minutes,
            }
        return None

    def record(self, kol: KOL, candidate: Candidate) -> None:
        subject = _subject(candidate)
        self.hour_counts[kol.pk] = self.hour_counts.get(kol.pk, 0) + 1
        self.day_counts[kol.pk] = self.day_counts.get(kol.pk, 0) + 1
        self.today.add((kol.pk, subject))
        self.window.setdefault(subject, set()).add(kol.pk)
        self.last_posted[kol.pk] = self.now
        self.assigned[kol.pk] += 1


def _counted_posts() -> QuerySet[Post]:
    return Post.objects.exclude(status__in=_NOT_COUNTED)


# A draft a batch is still writing counts like a post from the moment its batch was started, so a schedule
# run and a workbench batch (or two runs) started minutes apart cannot give one KOL the same stock twice.
_IN_FLIGHT = (BatchItem.Status.PENDING, BatchItem.Status.RUNNING)


def _in_flight(
    ids: list[int], candidates: Sequence[Candidate], since: dt.datetime, now: dt.datetime
) -> list[tuple[int, int | None, str, dt.datetime]]:
    """(kol, stock, topic, batch started) of the drafts still being written since ``since``: the pool's
    (for its caps) and anyone's on the candidates' stocks and topics (for the coordination window)."""
    stock_ids = {candidate.stock.pk for candidate in candidates if candidate.stock is not None}
    topics = {candidate.topic for candidate in candidates if candidate.stock is None and candidate.topic}
    whose = Q(kol_id__in=ids) | Q(stock_id__in=stock_ids) | Q(stock__isnull=True, topic__in=topics)
    return list(
        BatchItem.objects.filter(
            whose, status__in=_IN_FLIGHT, batch__created_at__gte=since, batch__created_at__lte=now
        ).values_list("kol_id", "stock_id", "topic", "batch__created_at")
    )


def _subject_filter(candidates: Sequence[Candidate]) -> Q:
    stock_ids = {candidate.stock.pk for candidate in candidates if candidate.stock is not None}
    topics = {candidate.topic for candidate in candidates if candidate.stock is None and candidate.topic}
    return Q(stock_id__in=stock_ids) | Q(stock__isnull=True, topic_title__in=topics)


def _post_subject(stock_id: int | None, topic: str) -> tuple[str, int | str]:
    return ("stock", stock_id) if stock_id is not None else ("topic", topic)


def _ledger_load(kols: list[KOL], candidates: Sequence[Candidate], now: dt.datetime) -> _Ledger:
    local = timezone.localtime(now, TAIPEI)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    hour_start = local.replace(minute=0, second=0, microsecond=0)
    ids = [kol.pk for kol in kols]
    counts = (
        _counted_posts()
        .filter(kol_id__in=ids, created_at__gte=day_start, created_at__lte=now)
        .values("kol_id")
        .annotate(day=Count("id"), hour=Count("id", filter=Q(created_at__gte=hour_start)))
        .order_by()
    )
    subjects = _subject_filter(candidates)
    today = _counted_posts().filter(subjects, kol_id__in=ids, created_at__gte=day_start, created_at__lte=now)
    window_minutes = settings.ALLOCATION_STOCK_WINDOW_MINUTES
    recent = _counted_posts().filter(
        subjects, created_at__gte=now - dt.timedelta(minutes=window_minutes), created_at__lte=now
    )
    window: dict[tuple[str, int | str], set[int]] = {}
    for stock_id, topic, kol_id in recent.values_list("stock_id", "topic_title", "kol_id").distinct():
        window.setdefault(_post_subject(stock_id, topic), set()).add(kol_id)
    hour_counts = {row["kol_id"]: row["hour"] for row in counts}
    day_counts = {row["kol_id"]: row["day"] for row in counts}
    today_subjects = {
        (kol_id, _post_subject(stock_id, topic))
        for kol_id, stock_id, topic in today.values_list("kol_id", "stock_id", "topic_title")
    }
    last_posted = _last_posted(ids)
    window_start = now - dt.timedelta(minutes=window_minutes)
    pool = set(ids)
    for writer, item_stock, item_topic, started in _in_flight(
        ids, candidates, min(day_start, window_start), now
    ):
        subject = _post_subject(item_stock, item_topic)
        if started >= window_start:
            window.setdefault(subject, set()).add(writer)
        if writer not in pool or started < day_start:
            continue
        day_counts[writer] = day_counts.get(writer, 0) + 1
        if started >= hour_start:
            hour_counts[writer] = hour_counts.get(writer, 0) + 1
        today_subjects.add((writer, subject))
        if writer not in last_posted or started > last_posted[writer]:
            last_posted[writer] = started
    return _Ledger(
        now=now,
        hour_counts=hour_counts,
        day_counts=day_counts,
        today=today_subjects,
        window=window,
        last_posted=last_posted,
        max_kols=settings.ALLOCATION_MAX_PERSONAS_PER_STOCK,
        window_minutes=window_minutes,
    )


def _last_posted(ids: list[int]) -> dict[int, dt.datetime]:
    rows = (
        _counted_posts().filter(kol_id__in=ids).values("kol_id").annotate(last=Max("created_at")).order_by()
    )
    return {row["kol_id"]: row["last"] for row in rows}


# --- Strategies: the order in which KOLs are offered a candidate ---------------------------------------


def _expertise(kol: KOL, candidate: Candidate) -> tuple[int, list[str]]:
    """Points for industry, keyword and persona affinity, with what matched."""
    points, matched = 0, []
    if candidate.industry and candidate.industry in (kol.expertise_industries or []):
        points += INDUSTRY_POINTS
        matched.append("industry")
    text = " ".join(
        part
        for part in (
            candidate.summary,
            candidate.topic,
            candidate.industry,
            candidate.stock.name if candidate.stock else "",
            candidate.stock.code if candidate.stock else "",
        )
        if part
    ).casefold()
    if any(str(word).casefold() in text for word in (kol.expertise_keywords or []) if str(word).strip()):
        points += KEYWORD_POINTS
        matched.append("keyword")
    if kol.persona in PERSONA_AFFINITY.get(candidate.trigger_type, set()):
        points += PERSONA_POINTS
        matched.append("persona")
    return points, matched


class _Offer:
    """Orders the pool for each candidate according to the strategy, remembering what it needs to."""

    def __init__(self, strategy: str, kols: list[KOL], ledger: _Ledger, *, seed: int | None, rotation: int):
        self.strategy = strategy
        self.kols = kols
        self.ledger = ledger
        self.random = random.Random(seed)  # noqa: S311 -- reproducible order, not security
        self.pointer = rotation % len(kols) if kols else 0

    def order(self, candidate: Candidate) -> list[tuple[KOL, list[dict[str, Any]]]]:
        positions = {kol.pk: index for index, kol in enumerate(self.kols)}
        if self.strategy == Strategy.ROUND_ROBIN:
            ordered = self.kols[self.pointer :] + self.kols[: self.pointer]
        elif self.strategy == Strategy.RANDOM:
            ordered = self.random.sample(self.kols, len(self.kols))
        elif self.strategy == Strategy.LEAST_RECENT:
            ordered = sorted(self.kols, key=lambda kol: (self._last(kol), positions[kol.pk]))
        elif self.strategy == Strategy.EXPERTISE:
            return self._by_expertise(candidate, positions)
        else:
            ordered = list(self.kols)
        return [(kol, self._reason(kol)) for kol in ordered]

    def taken(self, kol: KOL) -> None:
        if self.strategy == Strategy.ROUND_ROBIN:
            self.pointer = (self.kols.index(kol) + 1) % len(self.kols)

    def _last(self, kol: KOL) -> dt.datetime:
        # Never posted sorts first.
        return self.ledger.last_posted.get(kol.pk, dt.datetime.min.replace(tzinfo=dt.UTC))

    def _reason(self, kol: KOL) -> list[dict[str, Any]]:
        reason: dict[str, Any] = {"code": "strategy", "strategy": self.strategy}
        if self.strategy == Strategy.LEAST_RECENT:
            last = self.ledger.last_posted.get(kol.pk)
            reason["last_posted_at"] = last.isoformat() if last else None
        return [reason]

    def _by_expertise(
        self, candidate: Candidate, positions: dict[int, int]
    ) -> list[tuple[KOL, list[dict[str, Any]]]]:
        scored = [(kol, *_expertise(kol, candidate)) for kol in self.kols]
        # Best match first; among equals, the KOL with fewer assignments in this run spreads the load.
        scored.sort(key=lambda item: (-item[1], self.ledger.assigned[item[0].pk], positions[item[0].pk]))
        return [
            (
                kol,
                [
                    {
                        "code": "strategy",
                        "strategy": self.strategy,
                        "expertise_points": points,
                        "matched": matched,
                    }
                ],
            )
            for kol, points, matched in scored
        ]


# --- The service ---------------------------------------------------------------------------------------


def _pool(pool: Iterable[KOL]) -> tuple[list[KOL], list[KOL]]:
    """Active and paused KOLs of the pool, in the pool's order, each once."""
    seen: set[int] = set()
    active: list[KOL] = []
    paused: list[KOL] = []
    for kol in pool:
        if kol.pk in seen:
            continue
        seen.add(kol.pk)
        (active if kol.status == KOL.Status.ACTIVE else paused).append(kol)
    return active, paused


def _skip(candidate: Candidate, blocked: list[dict[str, Any]], *, pool_empty: bool) -> Skip:
    if pool_empty:
        return Skip(candidate, "no_active_kol", _("The KOL pool has no active KOL."))
    codes = {entry["code"] for entry in blocked}
    code = codes.pop() if len(codes) == 1 else "no_kol_available"
    messages = {
        "hourly_cap": _("Every KOL in the pool has reached its hourly cap."),
        "daily_cap": _("Every KOL in the pool has reached its daily cap."),
        "same_stock_today": _("Every KOL in the pool has already written about this today."),
        "stock_window_full": _(
            "%(max)s KOLs already wrote about this within %(minutes)s minutes; another would look coordinated."
        )
        % {
            "max": settings.ALLOCATION_MAX_PERSONAS_PER_STOCK,
            "minutes": settings.ALLOCATION_STOCK_WINDOW_MINUTES,
        },
    }
    message = messages.get(code, _("No KOL in the pool is within its limits for this candidate."))
    return Skip(candidate, code, message, blocked)


def kols_allocate(
    *,
    candidates: Sequence[Candidate],
    pool: Iterable[KOL],
    strategy: str,
    seed: int | None = None,
    rotation: int = 0,
    max_assignments: int | None = None,
    now: dt.datetime | None = None,
) -> AllocationResult:
    """Assign one KOL to each candidate, best-ranked first, within every hard limit.

    ``pool`` order matters for fixed (a priority list) and round robin (``rotation`` is where it
    starts, e.g. the schedule's run count, so successive runs rotate). ``random`` needs ``seed`` and is
    reproducible with it. Stops assigning after ``max_assignments``; the rest are skipped as "run_full".
    """
    if strategy not in Strategy.values:
        raise AllocationError(
            _("Unknown allocation strategy %(strategy)s; known: %(known)s.")
            % {"strategy": strategy, "known": ", ".join(Strategy.values)},
            fields={"allocation_strategy": [str(strategy)]},
        )
    if strategy == Strategy.RANDOM and seed is None:
        raise AllocationError(
            _("Random allocation needs a seed, so the same run always picks the same KOLs."),
            fields={"seed": [_("required for the random strategy")]},
        )
    active, paused = _pool(pool)
    ledger = _ledger_load(active, candidates, now or timezone.now())
    offer = _Offer(strategy, active, ledger, seed=seed, rotation=rotation)
    assignments: list[Assignment] = []
    skipped: list[Skip] = []
    for candidate in candidates:
        if max_assignments is not None and len(assignments) >= max_assignments:
            skipped.append(Skip(candidate, "run_full", _("This run already has all the posts it asked for.")))
            continue
        assignment, blocked = _assign(candidate, offer, ledger)
        if assignment is None:
            skipped.append(_skip(candidate, blocked, pool_empty=not active))
        else:
            assignments.append(assignment)
    return AllocationResult(strategy=strategy, assignments=assignments, skipped=skipped, paused=paused)


def _assign(
    candidate: Candidate, offer: _Offer, ledger: _Ledger
) -> tuple[Assignment | None, list[dict[str, Any]]]:
    blocked: list[dict[str, Any]] = []
    for kol, reasons in offer.order(candidate):
        problem = ledger.blocked(kol, candidate)
        if problem is not None:
            blocked.append({"kol_id": kol.pk, "kol": kol.nickname, **problem})
            continue
        ledger.record(kol, candidate)
        offer.taken(kol)
        return Assignment(candidate=candidate, kol=kol, reasons=reasons), blocked
    return None, blocked
