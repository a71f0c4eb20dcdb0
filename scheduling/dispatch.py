"""The dispatcher: every minute, claim each due schedule, decide what its due post times get, run.

Two guards make sure a post time runs once, whatever happens (a second beat, a retried task, two
dispatchers at once): the schedule row is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and only
while ``next_run_at`` is due, and every post time becomes a ScheduleRun row that is unique per
(schedule, slot) in the database. The claim, the advanced ``next_run_at`` and the run commit together.

After downtime, post times that passed while nothing dispatched are "late". A schedule follows its
missed-run policy:

* ``skip``: each late post time is recorded as skipped ("missed"), with when and why;
* ``run_once``: the latest late post time runs once (a catch-up run) when it is at most
  ``missed_run_grace_minutes`` late; earlier ones are recorded as superseded. Past the grace window they
  are all recorded as skipped ("missed, outside the grace window").

A post time counts as on time (not late) within ``SCHEDULING_ON_TIME_MINUTES`` of it, so a slow beat
tick never turns a normal run into a missed one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ConflictError
from scheduling.models import Schedule, ScheduleRun
from scheduling.runs import TAIPEI, run_execute, run_record, run_summary, schedule_note_run
from scheduling.services import scheduler_is_paused
from scheduling.slots import (
    is_run_day,
    manual_slot_key,
    schedule_post_times,
    slot_key,
    slot_next,
    slots_between,
)

logger = logging.getLogger(__name__)

Reason = ScheduleRun.SkipReason
Kind = ScheduleRun.Kind
# A dispatcher down for months records the latest post times only.
MISSED_RECORD_LIMIT = 50


@dataclass(frozen=True)
class SlotSkip:
    slot: dt.datetime
    reason: str
    message: str


@dataclass
class SlotPlan:
    """What the due post times of one schedule get at this dispatch."""

    skips: list[SlotSkip] = field(default_factory=list)
    run_slot: dt.datetime | None = None
    run_kind: str = Kind.SCHEDULED


def _hhmm(slot: dt.datetime) -> str:
    return timezone.localtime(slot, TAIPEI).strftime("%Y-%m-%d %H:%M")


def _late_skip(slot: dt.datetime, reason: str, ran: dt.datetime | None, grace: int) -> SlotSkip:
    messages: dict[str, str] = {
        Reason.MISSED: _("Nothing dispatched at %(slot)s (downtime); this schedule skips missed runs."),
        Reason.SUPERSEDED: _("Nothing dispatched at %(slot)s (downtime); the later post time %(ran)s ran."),
        Reason.MISSED_OUTSIDE_GRACE: _(
            "Nothing dispatched at %(slot)s (downtime), and it is more than %(grace)s minutes late."
        ),
    }
    values = {"slot": _hhmm(slot), "ran": _hhmm(ran) if ran else "", "grace": grace}
    return SlotSkip(slot, reason, messages[reason] % values)


def _not_a_run_day(slot: dt.datetime) -> SlotSkip:
    message = _("%(day)s is no longer a trading day (the calendar or an override changed).") % {
        "day": timezone.localtime(slot, TAIPEI).date().isoformat()
    }
    return SlotSkip(slot, Reason.NOT_TRADING_DAY, message)


def slot_plan(schedule: Schedule, now: dt.datetime) -> SlotPlan:
    """Which due post time runs (and as what), and why each other one does not."""
    expected = schedule.next_run_at
    assert expected is not None  # only due schedules are planned
    plan = SlotPlan()
    # Re-check the day at run time: a typhoon closure may have been entered since next_run_at was set.
    if not is_run_day(schedule.days_rule, timezone.localtime(expected, TAIPEI).date()):
        plan.skips.append(_not_a_run_day(expected))
    due = slots_between(
        post_times=schedule_post_times(schedule), days_rule=schedule.days_rule, start=expected, end=now
    )
    if not due:
        return plan
    on_time_limit = dt.timedelta(minutes=settings.SCHEDULING_ON_TIME_MINUTES)
    grace = schedule.missed_run_grace_minutes
    latest = due[-1]
    late = due[:-1]
    if now - latest <= on_time_limit:
        plan.run_slot = latest
    elif schedule.missed_run_policy == Schedule.MissedRunPolicy.SKIP:
        late = due
    elif now - latest <= dt.timedelta(minutes=grace):
        plan.run_slot, plan.run_kind = latest, Kind.CATCH_UP
    else:
        plan.skips += [_late_skip(slot, Reason.MISSED_OUTSIDE_GRACE, None, grace) for slot in due]
        return plan
    reason = (
        Reason.MISSED if schedule.missed_run_policy == Schedule.MissedRunPolicy.SKIP else Reason.SUPERSEDED
    )
    plan.skips += [_late_skip(slot, reason, plan.run_slot, grace) for slot in late]
    return plan


def _skips_record(schedule: Schedule, skips: list[SlotSkip], now: dt.datetime) -> list[ScheduleRun]:
    if len(skips) > MISSED_RECORD_LIMIT:
        logger.warning(
            "Schedule %s: %d missed post times; recording the latest %d",
            schedule.pk,
            len(skips),
            MISSED_RECORD_LIMIT,
        )
        skips = skips[-MISSED_RECORD_LIMIT:]
    rows = [
        ScheduleRun(
            schedule=schedule,
            slot=slot_key(skip.slot),
            slot_at=skip.slot,
            status=ScheduleRun.Status.SKIPPED,
            skip_reason=skip.reason,
            message=skip.message,
            started_at=now,
            finished_at=now,
        )
        for skip in skips
    ]
    # A row that already exists was recorded by an earlier dispatch: the unique constraint keeps one.
    ScheduleRun.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        schedule_note_run(rows[-1])
    return rows


def run_claim(
    schedule: Schedule, *, slot: str, slot_at: dt.datetime, kind: str, now: dt.datetime, by: Any = None
) -> ScheduleRun | None:
    """Insert the run row for a slot; None when that slot already has one (someone else ran it)."""
    try:
        with transaction.atomic():
            return ScheduleRun.objects.create(
                schedule=schedule,
                slot=slot,
                slot_at=slot_at,
                kind=kind,
                started_at=now,
                requested_by=by,
            )
    except IntegrityError:
        logger.info("Schedule %s slot %s already has a run; not running it again", schedule.pk, slot)
        return None


def _run_slot(schedule: Schedule, plan: SlotPlan, now: dt.datetime) -> ScheduleRun | None:
    assert plan.run_slot is not None
    run = run_claim(
        schedule, slot=slot_key(plan.run_slot), slot_at=plan.run_slot, kind=plan.run_kind, now=now
    )
    if run is None:
        return None
    if scheduler_is_paused():
        message = _("Scheduling is paused globally; this post time was not run.")
        return run_record(run, status=ScheduleRun.Status.SKIPPED, reason=Reason.GLOBAL_PAUSE, message=message)
    return run_execute(run=run, schedule=schedule, now=now)


def schedule_dispatch(*, schedule_id: int, now: dt.datetime | None = None) -> list[ScheduleRun]:
    """Claim one due schedule, advance its next run, record its due post times and run the one to run.

    Returns the rows written (none when another dispatcher holds the schedule or it is no longer due).
    """
    now = now or timezone.now()
    with transaction.atomic():
        schedule = (
            Schedule.objects.select_for_update(skip_locked=True)
            .filter(pk=schedule_id, status=Schedule.Status.ACTIVE, next_run_at__lte=now)
            .first()
        )
        if schedule is None:
            return []
        plan = slot_plan(schedule, now)
        schedule.next_run_at = slot_next(
            post_times=schedule_post_times(schedule), days_rule=schedule.days_rule, after=now
        )
        Schedule.objects.filter(pk=schedule.pk).update(next_run_at=schedule.next_run_at)
        runs = _skips_record(schedule, plan.skips, now)
        if plan.run_slot is not None:
            run = _run_slot(schedule, plan, now)
            runs += [run] if run is not None else []
    return runs


@dataclass(frozen=True)
class DispatchResult:
    schedules: int
    runs: list[dict[str, Any]]

    def counts(self) -> dict[str, int]:
        return dict(Counter(run["status"] for run in self.runs))


def schedules_dispatch(*, now: dt.datetime | None = None) -> DispatchResult:
    """The beat task's work: dispatch every active schedule whose next run is due."""
    now = now or timezone.now()
    due = list(
        Schedule.objects.filter(status=Schedule.Status.ACTIVE, next_run_at__lte=now)
        .order_by("next_run_at", "pk")
        .values_list("pk", flat=True)[: settings.SCHEDULING_DISPATCH_LIMIT]
    )
    runs: list[dict[str, Any]] = []
    for schedule_id in due:
        try:
            runs += [run_summary(run) for run in schedule_dispatch(schedule_id=schedule_id, now=now)]
        except Exception:
            # One broken schedule must not stop the others; it stays due and is retried next minute.
            logger.exception("Dispatching schedule %s failed", schedule_id)
    return DispatchResult(schedules=len(due), runs=runs)


class SchedulingPaused(ConflictError):
    code = "scheduling_paused"


def schedule_run_now(*, schedule: Schedule, by: Any = None, now: dt.datetime | None = None) -> ScheduleRun:
    """A person's "run now": a run for slot ``manual-<timestamp>`` through the same steps and caps.

    Works for a paused schedule (that is how one is tried out) and on any day; refused while
    scheduling is paused globally, which is the emergency brake.
    """
    if scheduler_is_paused():
        raise SchedulingPaused(_("Scheduling is paused globally; resume it before running a schedule."))
    now = now or timezone.now()
    user = by if getattr(by, "pk", None) is not None else None
    with transaction.atomic():
        locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
        run = run_claim(locked, slot=manual_slot_key(now), slot_at=now, kind=Kind.MANUAL, now=now, by=user)
        if run is None:
            raise ConflictError(_("This schedule was just run; try again."))
        run = run_execute(run=run, schedule=locked, now=now)
    schedule.refresh_from_db()
    return run
