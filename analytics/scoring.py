"""The interaction score: a versioned weighted sum, and the 24 h score posts are compared by.

score = Σ weight × metric over likes, comments, shares, saves, tips; a metric the platform does not
provide (empty) adds nothing. Every score records the formula version that made it. The 24 h slot's
score is copied to ``Post.score_24h`` with its late flag and version.

A new or re-activated version recomputes every stored score in the background, never inside the request
that made it active: a queued task (analytics.recompute_scores), and the daily analyses job as its
sweeper. ``ScoreFormula.rescored_at`` stays empty until every score is the active version's.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Min,
    OuterRef,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import InteractionSnapshot, PostFeatures, ScoreFormula
from analytics.slots import SCORED_SLOT
from config.exceptions import ServiceError
from config.queue import task_enqueue_on_commit
from posting.models import Post


def formula_active() -> ScoreFormula:
    formula = ScoreFormula.objects.filter(is_active=True).first()
    if formula is None and not ScoreFormula.objects.exists():
        # The designed default (PLATFORMS.md, "Interaction score"), as migration 0003 also creates it.
        formula, _created = ScoreFormula.objects.get_or_create(
            version=1,
            defaults={
                "is_active": True,
                "notes": "The designed default score.",
                "activated_at": timezone.now(),
                "rescored_at": timezone.now(),
            },
        )
    if formula is None:
        raise ServiceError(_("No score formula is active: activate one in the admin."), code="no_formula")
    return formula


def score_of(*, formula: ScoreFormula, counts: Any) -> Decimal:
    total = Decimal("0")
    for name in ScoreFormula.WEIGHTS:
        value = getattr(counts, name)
        if value is not None:
            total += getattr(formula, f"{name}_weight") * value
    return total.quantize(Decimal("0.01"))


def post_score_apply(*, snapshot: InteractionSnapshot) -> None:
    """The 24 h snapshot's score becomes the post's figure (inside the caller's transaction)."""
    if snapshot.slot != SCORED_SLOT:
        return
    Post.objects.filter(pk=snapshot.post_id).update(
        score_24h=snapshot.score,
        score_24h_late=snapshot.late,
        score_formula_version=snapshot.score_formula_version,
    )


def score_formula_create(*, weights: dict[str, Decimal], notes: str = "", by: Any = None) -> ScoreFormula:
    """A new version with these weights; it becomes the active one and every score is recomputed with it
    in the background (analytics.recompute_scores, queued when this commits)."""
    with transaction.atomic():
        # Serialise concurrent creations on the active row so versions stay unique and one stays active.
        list(ScoreFormula.objects.select_for_update().filter(is_active=True))
        version = (ScoreFormula.objects.aggregate(top=Max("version"))["top"] or 0) + 1
        ScoreFormula.objects.filter(is_active=True).update(is_active=False)
        formula = ScoreFormula.objects.create(
            version=version,
            is_active=True,
            activated_at=timezone.now(),
            notes=notes,
            created_by=by if getattr(by, "pk", None) else None,
            **{f"{name}_weight": weights[name] for name in ScoreFormula.WEIGHTS},
        )
        task_enqueue_on_commit(RECOMPUTE_TASK, args=(formula.pk,))
    return formula


def score_formula_activate(*, formula: ScoreFormula) -> ScoreFormula:
    """Make an older version active again; every score is recomputed with it in the background."""
    with transaction.atomic():
        list(ScoreFormula.objects.select_for_update().filter(is_active=True))
        ScoreFormula.objects.filter(is_active=True).exclude(pk=formula.pk).update(is_active=False)
        # Its scores are not all its own any more: the recompute sets rescored_at again when they are.
        ScoreFormula.objects.filter(pk=formula.pk).update(
            is_active=True, activated_at=timezone.now(), rescored_at=None
        )
        task_enqueue_on_commit(RECOMPUTE_TASK, args=(formula.pk,))
    formula.refresh_from_db()
    return formula


RECOMPUTE_TASK = "analytics.recompute_scores"
# Snapshots per UPDATE: one short transaction each, so collection keeps writing while a recompute runs.
_CHUNK = 20_000
# A snapshot scored with the old version by a collector that read the formula before the switch is
# caught by the next pass; a pass that changes nothing ends the recompute.
_MAX_PASSES = 3
# A collector loop reads the active formula once and holds it for at most this long (it is the hard time
# limit of analytics.collect_snapshots). A recompute only calls its version done after a pass that began
# this long after the activation: until then an old-version snapshot may still arrive.
FORMULA_HELD_SECONDS = 90


def _score_expression(formula: ScoreFormula) -> Any:
    """score_of in SQL: Σ weight × metric, an empty metric adding nothing, to two decimals."""
    terms = [
        Coalesce(F(name), Value(0)) * Value(getattr(formula, f"{name}_weight"), output_field=DecimalField())
        for name in ScoreFormula.WEIGHTS
    ]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return Round(ExpressionWrapper(total, output_field=DecimalField(max_digits=12, decimal_places=2)), 2)


def _still_active(formula: ScoreFormula) -> bool:
    return ScoreFormula.objects.filter(pk=formula.pk, is_active=True).exists()


def _recompute_pass(formula: ScoreFormula, expression: Any) -> int | None:
    """One pass over every snapshot by id range; the number rescored, or None when the formula stopped
    being the active one (a later activation's recompute owns the scores now)."""
    bounds = InteractionSnapshot.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return 0
    changed = 0
    low = bounds["low"] - 1
    while low < bounds["high"]:
        if not _still_active(formula):
            return None
        high = low + _CHUNK
        stale = InteractionSnapshot.objects.filter(pk__gt=low, pk__lte=high).exclude(
            score_formula_version=formula.version
        )
        with transaction.atomic():
            changed += stale.update(score=expression, score_formula_version=formula.version)
            _posts_rescore(formula, low, high)
        low = high
    return changed


def _scored_snapshot_score(post_field: str) -> Subquery:
    return Subquery(
        InteractionSnapshot.objects.filter(post_id=OuterRef(post_field), slot=SCORED_SLOT).values("score")[:1]
    )


def _posts_rescore(formula: ScoreFormula, low: int, high: int) -> None:
    """The 24 h score of the posts whose 24 h snapshot is in (low, high], and of their feature rows: the
    analyses then compare posts by one version's scores as soon as the recompute is done, and the daily
    feature refresh (which rebuilds a row whose score changed) has nothing to rebuild."""
    scored = InteractionSnapshot.objects.filter(pk__gt=low, pk__lte=high, slot=SCORED_SLOT)
    stale = Post.objects.filter(pk__in=Subquery(scored.values("post_id"))).exclude(
        score_formula_version=formula.version
    )
    PostFeatures.objects.filter(post_id__in=Subquery(stale.values("pk"))).update(
        score=Cast(_scored_snapshot_score("post_id"), FloatField())
    )
    stale.update(score_24h=_scored_snapshot_score("pk"), score_formula_version=formula.version)


def _settled_at(formula: ScoreFormula) -> Any:
    """From when no collector can still hold an older version than ``formula``."""
    return (formula.activated_at or formula.created_at) + dt.timedelta(seconds=FORMULA_HELD_SECONDS)


def scores_recompute(*, formula: ScoreFormula) -> int:
    """Every snapshot's score (and every post's 24 h score) with ``formula``, in set-based UPDATEs by id
    range; the number of snapshots rescored. Stops as soon as ``formula`` is no longer the active one.
    Marks the version rescored when a pass that began after the collectors let go of the older version
    (``FORMULA_HELD_SECONDS``) finds nothing left to change."""
    expression = _score_expression(formula)
    done = 0
    for _pass in range(_MAX_PASSES):
        began = timezone.now()
        changed = _recompute_pass(formula, expression)
        if changed is None:
            return done
        done += changed
        if changed == 0:
            if began >= _settled_at(formula):
                ScoreFormula.objects.filter(pk=formula.pk, is_active=True).update(rescored_at=timezone.now())
            return done
    return done


def scores_recompute_queued(*, formula_id: int) -> int:
    """What the queued task does: recompute with that version if it is still the active one, and queue
    itself again for the pass that can call the version done if this one began too early for that."""
    formula = ScoreFormula.objects.filter(pk=formula_id, is_active=True).first()
    if formula is None:
        return 0
    done = scores_recompute(formula=formula)
    formula.refresh_from_db(fields=["is_active", "rescored_at"])
    if formula.is_active and formula.rescored_at is None:
        wait = (_settled_at(formula) - timezone.now()).total_seconds()
        task_enqueue_on_commit(RECOMPUTE_TASK, args=(formula.pk,), countdown=max(wait, 0) + 1)
    return done


def scores_recompute_pending() -> int:
    """The sweeper: finish the active version's recompute if it never ran or died (a broker outage when
    it was queued, a worker killed); the number of snapshots rescored."""
    formula = ScoreFormula.objects.filter(is_active=True, rescored_at__isnull=True).first()
    return scores_recompute(formula=formula) if formula is not None else 0
