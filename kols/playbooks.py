"""Playbooks: analytics proposes a version, an Administrator activates it, generation reads it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from kols.models import KOL, Playbook

MAX_LINES = 8
MAX_LINE_LENGTH = 200


def playbook_propose(
    *, kol: KOL, lines: Sequence[str], best_hours: Sequence[int] = (), evidence: Sequence[dict[str, Any]] = ()
) -> Playbook | None:
    """A new proposed version, unless it says exactly what the newest version already says (then None)."""
    clean = [str(line).strip()[:MAX_LINE_LENGTH] for line in lines if str(line).strip()][:MAX_LINES]
    hours = [int(hour) for hour in best_hours if 0 <= int(hour) <= 23]
    if not clean and not hours:
        return None
    latest = Playbook.objects.filter(kol=kol).order_by("-version").first()
    if latest is not None and latest.lines == clean and latest.best_hours == hours:
        return None
    for _attempt in range(3):
        try:
            with transaction.atomic():
                top = Playbook.objects.filter(kol=kol).aggregate(top=Max("version"))["top"] or 0
                return Playbook.objects.create(
                    kol=kol, version=top + 1, lines=clean, best_hours=hours, evidence=list(evidence)
                )
        except IntegrityError:
            continue  # Another proposal took the number; take the next one.
    raise ServiceError(_("Could not number the new playbook version; try again."), code="conflict")


def playbook_activate(*, playbook: Playbook, by: Any) -> Playbook:
    """Make this version the KOL's active one; the previously active version is retired."""
    if playbook.status == Playbook.Status.ACTIVE:
        return playbook
    with transaction.atomic():
        Playbook.objects.filter(kol_id=playbook.kol_id, status=Playbook.Status.ACTIVE).update(
            status=Playbook.Status.RETIRED
        )
        now = timezone.now()
        updated = Playbook.objects.filter(pk=playbook.pk, status=playbook.status).update(
            status=Playbook.Status.ACTIVE, activated_at=now, activated_by=by
        )
        if not updated:
            raise ServiceError(_("The playbook changed meanwhile; reload and try again."), code="conflict")
    playbook.refresh_from_db()
    return playbook


def playbook_retire(*, playbook: Playbook) -> Playbook:
    Playbook.objects.filter(pk=playbook.pk).update(status=Playbook.Status.RETIRED)
    playbook.refresh_from_db()
    return playbook


def playbook_active(*, kol_id: int) -> Playbook | None:
    return Playbook.objects.filter(kol_id=kol_id, status=Playbook.Status.ACTIVE).first()
