"""Posts and what belongs to one: its status, approvals, audit trail and text revisions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kols.models import KOL
from market.models import Stock


class PostStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_REVIEW = "pending_review", _("Pending review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHING = "publishing", _("Publishing")
    PUBLISHED = "published", _("Published")
    # Published, then deleted from the platform by an editor; our copy is kept.
    UNPUBLISHED = "unpublished", _("Unpublished")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


_APPROVED_STATES = (
    PostStatus.APPROVED,
    PostStatus.SCHEDULED,
    PostStatus.PUBLISHING,
    PostStatus.PUBLISHED,
    PostStatus.UNPUBLISHED,
)


class Post(models.Model):
    Status = PostStatus

    class Generator(models.TextChoices):
        LLM = "llm", _("LLM")
        TEMPLATE = "template", _("Template writer")
        HUMAN = "human", _("Written by a person")

    class RiskLevel(models.TextChoices):
        BLOCKED = "blocked", _("Blocked")
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    APPROVED_STATES = _APPROVED_STATES

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kol = models.ForeignKey(KOL, on_delete=models.PROTECT, related_name="posts", verbose_name=_("KOL"))
    stock = models.ForeignKey(
        Stock,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="posts",
        verbose_name=_("stock"),
        help_text=_("Empty for topic posts."),
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        help_text=_("Raised on every change of the text, for the edit conflict check."),
    )
    reviewer_notes = models.TextField(_("reviewer notes"), blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    platform_post_id = models.CharField(_("platform post id"), max_length=100, blank=True)
    platform_post_url = models.URLField(_("platform URL"), blank=True)
    publish_error = models.TextField(_("publish error"), blank=True)

    topic_id = models.CharField(_("topic id"), max_length=100, blank=True)
    persona_version = models.ForeignKey(
        "kols.PersonaVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="posts",
        verbose_name=_("persona version"),
        help_text=_("The version of the KOL's persona card the post was written with."),
    )
    topic_title = models.CharField(_("topic title"), max_length=200, blank=True)

    trigger_type = models.CharField(_("trigger"), max_length=30, blank=True)
    trigger_key = models.CharField(_("trigger key"), max_length=100, blank=True)
    trigger_reasons = models.JSONField(_("trigger reasons"), default=list, blank=True)

    # Provenance of the generated text.
    generator = models.CharField(
        _("generator"), max_length=10, choices=Generator.choices, default=Generator.LLM
    )
    llm_model = models.CharField(_("model"), max_length=100, blank=True)
    prompt_version = models.CharField(_("prompt version"), max_length=50, blank=True)
    persona_snapshot = models.JSONField(_("persona snapshot"), default=dict, blank=True)
    prompt_tokens = models.PositiveIntegerField(_("prompt tokens"), null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(_("completion tokens"), null=True, blank=True)
    cost_usd = models.DecimalField(_("cost (USD)"), max_digits=10, decimal_places=6, null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), null=True, blank=True)

    market_snapshot = models.JSONField(_("market snapshot"), default=dict, blank=True)
    commodity_tags = models.JSONField(_("commodity tags"), default=list, blank=True)
    quality_score = models.FloatField(_("quality"), null=True, blank=True)
    machine_text_score = models.FloatField(_("machine-text score"), null=True, blank=True)
    risk_level = models.CharField(_("risk"), max_length=10, choices=RiskLevel.choices, blank=True)
    # Sort key of the review queue, kept with risk_level: blocked 0, high 1, unchecked 2, medium 2, low 3.
    risk_rank = models.PositiveSmallIntegerField(_("risk rank"), default=2, editable=False)
    batch = models.ForeignKey(
        "posting.GenerationBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="posts",
        verbose_name=_("batch"),
    )
    # Review: who last changed the words (they may not approve them), and which version was approved.
    text_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("text last edited by"),
    )
    text_edited_at = models.DateTimeField(_("text last edited at"), null=True, blank=True)
    approved_version = models.PositiveIntegerField(_("approved version"), null=True, blank=True)
    status_note = models.TextField(
        _("status note"), blank=True, help_text=_("Why the post was last rejected, sent back or expired.")
    )
    check_findings = models.JSONField(_("check findings"), default=list, blank=True)
    check_summary = models.JSONField(_("check summary"), default=dict, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    # The version the stored findings belong to: approve, schedule and send refuse unless it is the
    # current version (a save commits the text first and runs the checks after).
    checked_version = models.PositiveIntegerField(_("checked version"), null=True, blank=True)
    stale_reason = models.CharField(_("stale because"), max_length=300, blank=True)
    regenerated_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="regenerations",
        verbose_name=_("regenerated from"),
        help_text=_("The post this draft was written to replace (posting/regenerate.py)."),
    )
    is_demo = models.BooleanField(_("demo"), default=False, help_text=_("Created by the demo command."))
    # The figure posts are compared by: the interaction score of the 24 h snapshot. Analytics writes it
    # (analytics/ sits above posting and owns the snapshots and the score formula); the queue and the post
    # list sort by it without a join. Late means the 24 h snapshot was taken well after 24 h.
    score_24h = models.DecimalField(
        _("24 h score"), max_digits=12, decimal_places=2, null=True, blank=True, db_index=True
    )
    score_24h_late = models.BooleanField(
        _("24 h score taken late"), default=False, help_text=_("The 24 h snapshot was taken late.")
    )
    score_formula_version = models.PositiveIntegerField(_("score formula version"), null=True, blank=True)
    # The learning loop (kols.Playbook): the playbook version whose lines were in the prompt, and whether
    # the post was guided by it or drawn into the control group (generated without it). Empty = neither.
    playbook_version = models.PositiveIntegerField(_("playbook version"), null=True, blank=True)
    playbook_group = models.CharField(
        _("learning group"),
        max_length=10,
        blank=True,
        choices=[("guided", _("Guided by the playbook")), ("control", _("Control (no playbook)"))],
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["-created_at"]
        permissions = [
            ("review_post", _("Can approve, reject, request changes on and schedule posts")),
            ("publish_post", _("Can publish and unpublish posts")),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="post_status_created_idx"),
            models.Index(fields=["kol", "created_at"], name="post_kol_created_idx"),
            models.Index(fields=["stock", "created_at"], name="post_stock_created_idx"),
            models.Index(fields=["status", "scheduled_at"], name="post_status_scheduled_idx"),
            models.Index(fields=["status", "risk_rank", "created_at"], name="post_review_queue_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PostStatus.values), name="post_status_valid"),
            models.UniqueConstraint(
                fields=["platform_post_id"], condition=~Q(platform_post_id=""), name="post_platform_id_unique"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=_APPROVED_STATES) | Q(approved_at__isnull=False),
                name="post_approved_states_have_approval",
            ),
            models.CheckConstraint(
                condition=~Q(status="scheduled") | Q(scheduled_at__isnull=False),
                name="post_scheduled_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="post_published_has_time",
            ),
            models.CheckConstraint(
                condition=Q(quality_score__isnull=True) | Q(quality_score__gte=0, quality_score__lte=1),
                name="post_quality_0_1",
            ),
            models.CheckConstraint(
                condition=Q(machine_text_score__isnull=True)
                | Q(machine_text_score__gte=0, machine_text_score__lte=1),
                name="post_machine_text_0_1",
            ),
            models.CheckConstraint(
                condition=Q(risk_level__in=["", "blocked", "high", "medium", "low"]), name="post_risk_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    RISK_RANKS = {"blocked": 0, "high": 1, "": 2, "medium": 2, "low": 3}

    @property
    def has_blocking_finding(self) -> bool:
        return any(finding.get("severity") == "block" for finding in self.check_findings or [])

    @property
    def checks_current(self) -> bool:
        """The stored findings were computed on the text as it is now."""
        return self.checked_version is not None and self.checked_version == self.version


class Approval(models.Model):
    """One approval of one version of a post. Its id is the approval number reviewers quote."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="approvals", verbose_name=_("post"))
    version = models.PositiveIntegerField(_("version"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_by_label = models.CharField(
        _("approved by (system)"),
        max_length=100,
        blank=True,
        help_text=_("For example a schedule that auto-approves."),
    )
    approved_at = models.DateTimeField(_("approved at"))

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        constraints = [
            models.UniqueConstraint(fields=["post", "version"], name="approval_one_per_post_version"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=False) | ~Q(approved_by_label=""),
                name="approval_has_an_approver",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"APR-{self.pk:06d}"


class AuditEvent(models.Model):
    """Who did what to a post, when, from which status to which. Appended, never edited."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="events", verbose_name=_("post"))
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_label = models.CharField(_("by (system)"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)
    version = models.PositiveIntegerField(_("version"), null=True, blank=True)
    approval = models.ForeignKey(
        Approval,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approval"),
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["post", "created_at"], name="audit_post_created_idx")]

    def __str__(self) -> str:
        # Shown as the page title and in breadcrumbs: the time and the status reached, in words.
        status = PostStatus(self.to_status).label if self.to_status in PostStatus.values else self.to_status
        return (
            f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M} → {status}"
            if self.created_at
            else str(status)
        )

    @property
    def who(self) -> str:
        return self.actor.get_username() if self.actor else self.actor_label


class PostRevision(models.Model):
    """The text of a post at each version: the generated original first, then every edit."""

    class Source(models.TextChoices):
        GENERATED = "generated", _("Generated")
        EDIT = "edit", _("Edited")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("post"))
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("edited by"),
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        ordering = ["post", "version"]
        constraints = [
            models.UniqueConstraint(fields=["post", "version"], name="revision_one_per_post_version")
        ]

    def __str__(self) -> str:
        return f"{self.post_id} v{self.version}"
