from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kols.models import KOL, PostType
from posting.generation.prompts import PostLength
from posting.models import GenerationBatch
from scheduling.trigger_types import TriggerType, validate_trigger_config

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def validate_post_times(value: Any) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_('Give at least one post time as a list of "HH:MM" strings.'))
    bad = [str(item) for item in value if not isinstance(item, str) or not _HHMM.match(item)]
    if bad:
        raise ValidationError(
            _("Post times must be HH:MM (00:00 to 23:59, Asia/Taipei); not valid: %(bad)s")
            % {"bad": ", ".join(bad)}
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("Post times must not repeat."))


class Schedule(models.Model):
    class Allocation(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        RANDOM = "random", _("Seeded random")
        EXPERTISE = "expertise", _("Expertise match")
        LEAST_RECENT = "least_recent", _("Least recently posted")
        FIXED = "fixed", _("Fixed pool")

    class DaysRule(models.TextChoices):
        EVERY_DAY = "every_day", _("Every day")
        WEEKDAYS = "weekdays", _("Weekdays")
        TRADING_DAYS = "trading_days", _("Trading days")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    class MissedRunPolicy(models.TextChoices):
        SKIP = "skip", _("Skip missed runs (recorded with the reason)")
        RUN_ONCE = "run_once", _("Run the latest missed run once, inside the grace window")

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    trigger_type = models.CharField(_("trigger"), max_length=30, choices=TriggerType.choices)
    trigger_config = models.JSONField(_("trigger config"), default=dict, blank=True)
    allocation_strategy = models.CharField(
        _("KOL allocation"), max_length=20, choices=Allocation.choices, default=Allocation.ROUND_ROBIN
    )
    kol_pool = models.ManyToManyField(KOL, blank=True, related_name="schedules", verbose_name=_("KOL pool"))
    post_times = models.JSONField(
        _("post times"), default=list, validators=[validate_post_times], help_text=_("HH:MM, Asia/Taipei.")
    )
    days_rule = models.CharField(
        _("days"), max_length=20, choices=DaysRule.choices, default=DaysRule.TRADING_DAYS
    )
    use_best_hours = models.BooleanField(
        _("use the KOLs' best hours"),
        default=False,
        help_text=_(
            "Run at the best hours of the active playbooks of the KOLs in the pool instead of the post "
            "times; the post times still apply when no KOL has an active playbook with best hours."
        ),
    )
    posts_per_run = models.PositiveSmallIntegerField(
        _("posts per run"), default=3, validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    max_posts_per_day = models.PositiveSmallIntegerField(
        _("posts per day (cap)"), default=10, validators=[MinValueValidator(1)]
    )
    post_type = models.CharField(
        _("post type"), max_length=20, choices=PostType.choices, default=PostType.ANALYSIS
    )
    post_length = models.CharField(
        _("post length"), max_length=10, choices=PostLength.choices, default=PostLength.MEDIUM
    )
    missed_run_policy = models.CharField(
        _("missed runs"),
        max_length=10,
        choices=MissedRunPolicy.choices,
        default=MissedRunPolicy.SKIP,
        help_text=_("What to do with post times that passed while the dispatcher was not running."),
    )
    missed_run_grace_minutes = models.PositiveSmallIntegerField(
        _("grace window (minutes)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text=_("Run once: the latest missed post time still runs when it is at most this late."),
    )
    publish_offset_minutes = models.PositiveIntegerField(
        _("publish offset (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text=_(
            "Auto-approved drafts are scheduled to publish this many minutes after approval. "
            "Empty: they stay approved until a person schedules them."
        ),
    )
    auto_approve = models.BooleanField(
        _("auto-approve"),
        default=False,
        help_text=_("Approve drafts with no blocking finding and quality at or above the threshold."),
    )
    auto_approve_min_quality = models.FloatField(
        _("auto-approve minimum quality"),
        default=0.8,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PAUSED)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_run_status = models.CharField(_("last run status"), max_length=20, blank=True)
    runs_count = models.PositiveIntegerField(_("runs"), default=0)
    posts_created_count = models.PositiveIntegerField(_("posts created"), default=0)
    is_demo = models.BooleanField(_("demo"), default=False, help_text=_("Created by the demo command."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger_type__in=TriggerType.values), name="schedule_trigger_valid"
            ),
            models.CheckConstraint(
                condition=Q(posts_per_run__gte=1, max_posts_per_day__gte=models.F("posts_per_run")),
                name="schedule_caps_consistent",
            ),
            models.CheckConstraint(
                condition=Q(auto_approve_min_quality__gte=0, auto_approve_min_quality__lte=1),
                name="schedule_quality_0_1",
            ),
            models.CheckConstraint(
                condition=Q(missed_run_policy__in=["skip", "run_once"]), name="schedule_missed_policy_valid"
            ),
            models.CheckConstraint(
                condition=Q(publish_offset_minutes__isnull=True) | Q(publish_offset_minutes__gte=1),
                name="schedule_publish_offset_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        validate_trigger_config(self.trigger_type, self.trigger_config)


class ScheduleRun(models.Model):
    """One post time of one schedule: run, skipped (and why) or failed (and how). One row per slot."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("On time")
        CATCH_UP = "catch_up", _("Catch-up after downtime")
        MANUAL = "manual", _("Run now")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class SkipReason(models.TextChoices):
        MISSED = "missed", _("Missed while the dispatcher was down")
        MISSED_OUTSIDE_GRACE = "missed_outside_grace", _("Missed; later than the grace window")
        SUPERSEDED = "superseded", _("Missed; a later post time ran instead")
        NOT_TRADING_DAY = "not_trading_day", _("Not a trading day (market closed)")
        DAILY_CAP = "daily_cap", _("Daily cap reached")
        NO_CANDIDATES = "no_candidates", _("The trigger picked nothing")
        NO_KOL_AVAILABLE = "no_kol_available", _("No KOL within its limits")
        GLOBAL_PAUSE = "global_pause", _("Scheduling paused globally")

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="runs", verbose_name=_("schedule")
    )
    # The post time as "2026-11-20T14:30+08:00", or "manual-<timestamp>" for a run started by a person.
    slot = models.CharField(_("slot"), max_length=60)
    slot_at = models.DateTimeField(_("slot time"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SCHEDULED)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    skip_reason = models.CharField(
        _("skipped because"), max_length=30, choices=SkipReason.choices, blank=True
    )
    message = models.TextField(_("message"), blank=True, help_text=_("Why it was skipped, or what failed."))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    trigger_as_of = models.DateField(_("market day"), null=True, blank=True)
    candidates = models.JSONField(_("candidates"), default=list, blank=True)
    trigger_excluded = models.JSONField(_("left out by the trigger"), default=dict, blank=True)
    assignments = models.JSONField(_("assignments"), default=list, blank=True)
    allocation_skipped = models.JSONField(_("candidates no KOL took"), default=list, blank=True)
    batch = models.ForeignKey(
        GenerationBatch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="schedule_runs",
        verbose_name=_("generation batch"),
    )
    posts_created = models.PositiveIntegerField(_("posts created"), default=0)
    auto_approved = models.PositiveIntegerField(_("auto-approved"), default=0)
    review = models.JSONField(
        _("auto-approve outcome"),
        default=dict,
        blank=True,
        help_text=_("Which drafts the schedule approved, and why the others stayed in the review queue."),
    )

    class Meta:
        verbose_name = _("schedule run")
        verbose_name_plural = _("schedule runs")
        ordering = ["-slot_at", "-id"]
        indexes = [
            models.Index(fields=["schedule", "started_at"], name="schedule_run_started_idx"),
            models.Index(fields=["status", "started_at"], name="schedule_run_status_idx"),
        ]
        constraints = [
            # The guard against a second beat, a retry or a second dispatcher running the same post time.
            models.UniqueConstraint(fields=["schedule", "slot"], name="schedule_run_one_per_slot"),
            models.CheckConstraint(
                condition=Q(status__in=["running", "succeeded", "failed", "skipped"]),
                name="schedule_run_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="skipped") | ~Q(skip_reason=""), name="schedule_run_skip_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id} @ {self.slot}"


class SchedulerState(models.Model):
    """The one switch above every schedule: a global pause that leaves each schedule's own status alone.

    While it is on, the dispatcher records each due post time as skipped ("paused globally") and moves on;
    turning it off lets each schedule carry on as it was (active ones at their next post time, paused
    ones still paused). One row, id 1.
    """

    SINGLETON_ID = 1

    paused = models.BooleanField(_("paused globally"), default=False)
    changed_at = models.DateTimeField(_("changed"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )

    class Meta:
        verbose_name = _("scheduler state")
        verbose_name_plural = _("scheduler state")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="scheduler_state_single_row")]

    def __str__(self) -> str:
        return str(_("Paused globally") if self.paused else _("Running"))
