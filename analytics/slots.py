"""The fixed ages a post's interactions are collected at (INTERACTION_SLOTS), and when one is late."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

# The slot posts are compared by (Post.score_24h).
SCORED_SLOT = "24h"


@dataclass(frozen=True)
class Slot:
    label: str
    age: dt.timedelta


def slot_age(label: str) -> dt.timedelta:
    amount, unit = int(label[:-1]), label[-1]
    return dt.timedelta(hours=amount) if unit == "h" else dt.timedelta(days=amount)


def slots() -> list[Slot]:
    return sorted((Slot(label, slot_age(label)) for label in settings.INTERACTION_SLOTS), key=lambda s: s.age)


def late_tolerance(age: dt.timedelta) -> dt.timedelta:
    return max(
        age * settings.INTERACTION_LATE_FRACTION, dt.timedelta(minutes=settings.INTERACTION_LATE_MIN_MINUTES)
    )


def is_late(*, slot: str, published_at: dt.datetime, captured_at: dt.datetime) -> bool:
    age = slot_age(slot)
    return captured_at - published_at > age + late_tolerance(age)


def slot_for_age(*, age: dt.timedelta) -> str:
    """The slot a snapshot of this real age fills on time (pushed snapshots); "" when none."""
    for slot in slots():
        if slot.age <= age <= slot.age + late_tolerance(slot.age):
            return slot.label
    return ""


def longest() -> dt.timedelta:
    return slots()[-1].age
