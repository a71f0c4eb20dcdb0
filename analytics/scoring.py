"""The interaction score: a versioned weighted sum, and the 24 h score posts are compared by.

score = Σ weight × metric over likes, comments, shares, saves, tips; a metric the platform does not
provide (empty) adds nothing. Every score records the formula version that made it. The 24 h slot's
score is copied to ``Post.score_24h`` with its late flag and version.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from analytics.models import InteractionSnapshot, ScoreFormula
from analytics.slots import SCORED_SLOT
from config.exceptions import ServiceError
from posting.models import Post


def formula_active() -> ScoreFormula:
    formula = ScoreFormula.objects.filter(is_active=True).first()
    if formula is None and not ScoreFormula.objects.exists():
        # The designed default (PLATFORMS.md, "Interaction score"), as migration 0003 also creates it.
        formula, _created = ScoreFormula.objects.get_or_create(
            version=1, defaults={"is_active": True, "notes": "The designed default score."}
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
    """A new version with these weights; it becomes the active one and every score is recomputed with it."""
    with transaction.atomic():
        # Serialise concurrent creations on the active row so versions stay unique and one stays active.
        list(ScoreFormula.objects.select_for_update().filter(is_active=True))
        version = (ScoreFormula.objects.aggregate(top=Max("version"))["top"] or 0) + 1
        ScoreFormula.objects.filter(is_active=True).update(is_active=False)
        formula = ScoreFormula.objects.create(
            version=version,
            is_active=True,
            notes=notes,
            created_by=by if getattr(by, "pk", None) else None,
            **{f"{name}_weight": weights[name] for name in ScoreFormula.WEIGHTS},
        )
    scores_recompute(formula=formula)
    return formula


def score_formula_activate(*, formula: ScoreFormula) -> ScoreFormula:
    """Make an older version active again, and recompute every score with it."""
    with transaction.atomic():
        ScoreFormula.objects.filter(is_active=True).exclude(pk=formula.pk).update(is_active=False)
        ScoreFormula.objects.filter(pk=formula.pk).update(is_active=True)
    formula.refresh_from_db()
    scores_recompute(formula=formula)
    return formula


_CHUNK = 2000


def scores_recompute(*, formula: ScoreFormula) -> int:
    """Every snapshot's score (and every post's 24 h score) with ``formula``; the number of snapshots."""
    done = 0
    last = 0
    while True:
        chunk = list(InteractionSnapshot.objects.filter(pk__gt=last).order_by("pk")[:_CHUNK])
        if not chunk:
            return done
        with transaction.atomic():
            for snapshot in chunk:
                snapshot.score = score_of(formula=formula, counts=snapshot)
                snapshot.score_formula_version = formula.version
            InteractionSnapshot.objects.bulk_update(chunk, ["score", "score_formula_version"])
            for snapshot in chunk:
                post_score_apply(snapshot=snapshot)
        done += len(chunk)
        last = chunk[-1].pk
