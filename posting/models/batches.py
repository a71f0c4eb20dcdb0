"""Generation batches (posting/generation/batches.py): a request for drafts and the items it owes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kols.models import KOL
from market.models import Stock
from posting.models.posts import Post


class GenerationBatch(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual (admin)")
        SCHEDULE = "schedule", _("Schedule")
        API = "api", _("API")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Writer(models.TextChoices):
        LLM = "llm", _("LLM")
        TEMPLATE = "template", _("Template writer")

    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    source_ref = models.CharField(
        _("source reference"),
        max_length=100,
        blank=True,
        help_text=_("For example the schedule and its slot."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    post_type = models.CharField(_("post type"), max_length=30, blank=True)
    requested_count = models.PositiveIntegerField(_("requested"), default=0)
    succeeded_count = models.PositiveIntegerField(_("succeeded"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    error_summary = models.TextField(_("error summary"), blank=True)
    is_demo = models.BooleanField(_("demo"), default=False, help_text=_("Created by the demo command."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    cancelled_count = models.PositiveIntegerField(_("cancelled"), default=0)
    writer = models.CharField(
        _("writer"),
        max_length=10,
        choices=Writer.choices,
        default=Writer.LLM,
        help_text=_("Decided at the start; a failed LLM call is never replaced by the template."),
    )
    # The one queued or running task allowed to work on the batch (posting/generation/batches.py): a task whose
    # token is not this one was superseded and exits. The deadline is when a queued task must have
    # started, or when a running task's lease ends; past it the sweeper hands the batch to a new task.
    runner_token = models.CharField(_("runner token"), max_length=32, blank=True, editable=False)
    runner_started_at = models.DateTimeField(_("runner started"), null=True, blank=True, editable=False)
    runner_deadline = models.DateTimeField(_("runner deadline"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("generation batch")
        verbose_name_plural = _("generation batches")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(succeeded_count__lte=models.F("requested_count") - models.F("failed_count")),
                name="batch_outcomes_within_requested",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(started_at__isnull=False),
                name="batch_finished_after_started",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk}"


class BatchItem(models.Model):
    """One draft a batch owes: who writes about what, and what became of it.

    A worker claims a pending item with a compare-and-set that records a fresh ``claim_token``; the post
    is created in the same transaction that marks the claimed item succeeded, so a crash never leaves a
    post without its item, and an item has at most one post.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    batch = models.ForeignKey(
        GenerationBatch, on_delete=models.CASCADE, related_name="items", verbose_name=_("batch")
    )
    position = models.PositiveIntegerField(_("position"))
    kol = models.ForeignKey(KOL, on_delete=models.PROTECT, related_name="+", verbose_name=_("KOL"))
    stock = models.ForeignKey(
        Stock, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("stock")
    )
    topic = models.CharField(_("topic"), max_length=200, blank=True)
    topic_id = models.CharField(
        _("community topic id"),
        max_length=100,
        blank=True,
        help_text=_("A CMoney community topic the post attaches to (communityTopic)."),
    )
    length = models.CharField(_("length"), max_length=10, default="medium")
    trigger_type = models.CharField(_("trigger"), max_length=30, blank=True)
    trigger_key = models.CharField(_("trigger key"), max_length=100, blank=True)
    trigger_reasons = models.JSONField(_("trigger reasons"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(
        _("next attempt"), null=True, blank=True, help_text=_("A retry waits until then; empty = now.")
    )
    claim_token = models.CharField(_("claim token"), max_length=32, blank=True, editable=False)
    post = models.OneToOneField(
        Post,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="batch_item",
        verbose_name=_("post"),
    )
    # Carried onto the draft's ``Post.regenerated_from`` when the item succeeds.
    regenerated_from = models.ForeignKey(
        Post,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("regenerates"),
    )
    # Drawn at random when the batch is created (LEARNING_CONTROL_SHARE): generated without the playbook.
    playbook_control = models.BooleanField(_("control group"), default=False)
    error = models.TextField(_("error"), blank=True)
    error_code = models.CharField(_("error code"), max_length=50, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("batch item")
        verbose_name_plural = _("batch items")
        ordering = ["batch", "position"]
        indexes = [
            models.Index(fields=["batch", "status", "position"], name="batchitem_claim_idx"),
            models.Index(fields=["batch", "finished_at"], name="batchitem_batch_finished_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="batchitem_one_per_position"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "running", "succeeded", "failed", "cancelled"]),
                name="batchitem_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="running") | (~Q(claim_token="") & Q(started_at__isnull=False)),
                name="batchitem_running_is_claimed",
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=False) | ~Q(topic=""), name="batchitem_stock_or_topic"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.batch_id}.{self.position}"
