"""Every change to a schedule's settings and state: saving, pausing and resuming one, pausing them all.

``next_run_at`` is computed here, never in ``Model.save``: on creation, on activation and when the post
times or days rule change. The dispatcher (scheduling/dispatch.py) is the only other writer of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from kols.models import KOL
from scheduling.models import Schedule, SchedulerState
from scheduling.slots import schedule_post_times, slot_next

# What a person may change; counters, last run and next run belong to the services.
EDITABLE_FIELDS = [
    "name",
    "description",
    "trigger_type",
    "trigger_config",
    "allocation_strategy",
    "post_times",
    "days_rule",
    "use_best_hours",
    "posts_per_run",
    "max_posts_per_day",
    "post_type",
    "post_length",
    "missed_run_policy",
    "missed_run_grace_minutes",
    "publish_offset_minutes",
    "auto_approve",
    "auto_approve_min_quality",
    "status",
]
_TIMING_FIELDS = ("post_times", "days_rule", "use_best_hours", "status")


class ScheduleInvalid(ServiceError):
    code = "invalid"


def _validated(schedule: Schedule) -> None:
    try:
        schedule.full_clean(exclude=["kol_pool"])
    except ValidationError as exc:
        fields = {key: [str(message) for message in messages] for key, messages in exc.message_dict.items()}
        names = ", ".join(sorted(fields))
        raise ScheduleInvalid(_("Invalid schedule: %(fields)s.") % {"fields": names}, fields=fields) from exc


def _require_pool(schedule: Schedule, pool: list[KOL] | None) -> None:
    if schedule.status != Schedule.Status.ACTIVE:
        return
    has_pool = bool(pool) if pool is not None else schedule.pk and schedule.kol_pool.exists()
    if not has_pool:
        message = _("Add at least one KOL to the pool before activating the schedule.")
        raise ScheduleInvalid(message, fields={"kol_pool": [message]})


def schedule_next_run(
    schedule: Schedule, *, now: dt.datetime | None = None, pool: list[KOL] | None = None
) -> dt.datetime | None:
    """The next post time after ``now`` for an active schedule; None for a paused one."""
    if schedule.status != Schedule.Status.ACTIVE:
        return None
    return slot_next(
        post_times=schedule_post_times(schedule, pool=pool),
        days_rule=schedule.days_rule,
        after=now or timezone.now(),
    )


def _keeps_next_run(schedule: Schedule, before: dict[str, Any] | None) -> bool:
    """An edit that leaves the timing alone keeps a pending post time (even one due this minute)."""
    if before is None or before["next_run_at"] is None:
        return False
    if schedule.use_best_hours:
        return False  # the pool or its playbooks may have changed the hours
    return all(before[name] == getattr(schedule, name) for name in _TIMING_FIELDS)


def schedule_save(
    *, schedule: Schedule, pool: Iterable[KOL] | None = None, now: dt.datetime | None = None
) -> Schedule:
    """Create or update a schedule from a person's edit, and (re)compute its next run.

    Only the editable fields are written, under the row lock the dispatcher takes, so an edit never
    overwrites the run counters or the next run the dispatcher has just advanced.
    """
    pool_list = list(pool) if pool is not None else None
    _validated(schedule)
    _require_pool(schedule, pool_list)
    with transaction.atomic():
        before = None
        if not schedule._state.adding:
            before = (
                Schedule.objects.select_for_update()
                .filter(pk=schedule.pk)
                .values("next_run_at", *_TIMING_FIELDS)
                .first()
            )
        if not _keeps_next_run(schedule, before):
            schedule.next_run_at = schedule_next_run(schedule, now=now, pool=pool_list)
        elif before is not None:
            schedule.next_run_at = before["next_run_at"]
        if before is None:
            schedule.save()
        else:
            schedule.save(update_fields=[*EDITABLE_FIELDS, "next_run_at", "updated_at"])
        if pool_list is not None:
            schedule.kol_pool.set(pool_list)
    return schedule


def schedule_delete(*, schedule: Schedule) -> None:
    """Delete a schedule with its run history; its drafts and batches stay (they belong to posting)."""
    with transaction.atomic():
        Schedule.objects.select_for_update().filter(pk=schedule.pk).first()
        schedule.delete()


def schedule_pause(*, schedule: Schedule) -> bool:
    """Stop the schedule's unattended runs; False when it was not active."""
    changed = Schedule.objects.filter(pk=schedule.pk, status=Schedule.Status.ACTIVE).update(
        status=Schedule.Status.PAUSED, next_run_at=None, updated_at=timezone.now()
    )
    schedule.refresh_from_db()
    return bool(changed)


def schedule_resume(*, schedule: Schedule, now: dt.datetime | None = None) -> bool:
    """Activate the schedule from its next post time on (missed ones while paused are not made up)."""
    with transaction.atomic():
        locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
        if locked.status == Schedule.Status.ACTIVE:
            schedule.refresh_from_db()
            return False
        locked.status = Schedule.Status.ACTIVE
        _validated(locked)
        _require_pool(locked, None)
        locked.next_run_at = schedule_next_run(locked, now=now)
        locked.save(update_fields=["status", "next_run_at", "updated_at"])
    schedule.refresh_from_db()
    return True


# --- The global pause --------------------------------------------------------------------------------


def scheduler_state() -> SchedulerState:
    state, _created = SchedulerState.objects.get_or_create(pk=SchedulerState.SINGLETON_ID)
    return state


def scheduler_is_paused() -> bool:
    return SchedulerState.objects.filter(pk=SchedulerState.SINGLETON_ID, paused=True).exists()


def _scheduler_set(*, paused: bool, by: Any) -> bool:
    state = scheduler_state()
    changed = SchedulerState.objects.filter(pk=state.pk, paused=not paused).update(
        paused=paused, changed_at=timezone.now(), changed_by_id=getattr(by, "pk", None)
    )
    return bool(changed)


def scheduler_pause(*, by: Any = None) -> bool:
    """Pause every schedule at once without touching their own status; False when already paused."""
    return _scheduler_set(paused=True, by=by)


def scheduler_resume(*, by: Any = None) -> bool:
    """Lift the global pause: each schedule carries on as it was before; False when not paused."""
    return _scheduler_set(paused=False, by=by)
