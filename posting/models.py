from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kols.models import KOL
from market.models import Stock


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
    # The one queued or running task allowed to work on the batch (posting/batches.py): a task whose
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
        GenerationBatch,
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
        return f"{self.action} {self.from_status}->{self.to_status}"

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


class ComplianceRule(models.Model):
    """One Taiwan investment-advice rule the draft checks apply, editable by administrators.

    A *forbidden* rule reports each match of its pattern or phrases. A *required* rule reports its absence
    from a post that discusses a specific stock and matches ``applies_pattern`` (the risk reminder).
    Patterns are matched against folded text: Simplified characters, half-width letters and digits, lower
    case, no spaces between Chinese characters (see posting/checks/text.py).
    """

    class Category(models.TextChoices):
        GUARANTEED_RETURN = "guaranteed_return", _("Guaranteed returns")
        TRADE_INSTRUCTION = "trade_instruction", _("Buy/sell instructions and price targets")
        INSIDER = "insider", _("Insider-information claims")
        SOLICITATION = "solicitation", _("Solicitation (groups, paid signals)")
        PUMP_RUMOUR = "pump_rumour", _("Pump and rumour language")
        LEVERAGE = "leverage", _("Borrowing to invest")
        RISK_REMINDER = "risk_reminder", _("Risk reminder")
        OTHER = "other", _("Other")

    class Kind(models.TextChoices):
        FORBIDDEN = "forbidden", _("Forbidden wording (a match is a finding)")
        REQUIRED = "required", _("Required wording (its absence is a finding)")

    class Severity(models.TextChoices):
        BLOCK = "block", _("Block")
        WARN = "warn", _("Warn")

    code = models.SlugField(_("code"), max_length=60, unique=True, help_text=_("Stable; shown in findings."))
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FORBIDDEN)
    pattern = models.TextField(
        _("pattern (regular expression)"),
        blank=True,
        help_text=_("Python regular expression, matched case-insensitively against the folded text."),
    )
    phrases = models.JSONField(
        _("phrases"),
        default=list,
        blank=True,
        help_text=_("Literal phrases; spaces, width and Simplified/Traditional variants are folded."),
    )
    severity = models.CharField(_("severity"), max_length=5, choices=Severity.choices)
    message = models.CharField(_("message"), max_length=300, help_text=_("Shown to the reviewer."))
    applies_pattern = models.TextField(
        _("applies when (regular expression)"),
        blank=True,
        help_text=_("Required rules only: the rule applies to a post that matches this."),
    )
    unless_pattern = models.TextField(
        _("unless (regular expression)"),
        blank=True,
        help_text=_("Forbidden rules only: a match is ignored when its sentence matches this."),
    )
    skip_negated = models.BooleanField(
        _("ignore negated matches"),
        default=True,
        help_text=_("For example 「沒有保證獲利」 or 「不要借錢買股」 is not a finding."),
    )
    active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("compliance rule")
        verbose_name_plural = _("compliance rules")
        ordering = ["category", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=["block", "warn"]), name="compliance_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["forbidden", "required"]), name="compliance_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        from posting.checks.compliance import rule_validation_errors

        errors = rule_validation_errors(self)
        if errors:
            raise ValidationError(errors)


# --- Publishing (posting/publishing) ----------------------------------------------------------------


class Backend(models.TextChoices):
    CMONEY = "cmoney", _("CMoney 同學會")
    WEBHOOK = "webhook", _("Webhook")
    DRY_RUN = "dry_run", _("Dry run (nothing sent)")


class PublicationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    PUBLISHED = "published", _("Published")
    FAILED_RETRYABLE = "failed_retryable", _("Failed, will retry")
    FAILED_PERMANENT = "failed_permanent", _("Failed")
    UNKNOWN = "unknown", _("Unknown: confirm on the forum")
    CANCELLED = "cancelled", _("Not sent")
    DELETED = "deleted", _("Deleted from the platform")


# A post has at most one publication in these states at a time.
OPEN_PUBLICATION_STATES = (
    PublicationStatus.PENDING,
    PublicationStatus.SENDING,
    PublicationStatus.FAILED_RETRYABLE,
    PublicationStatus.UNKNOWN,
)


class Publication(models.Model):
    """The outbox: one send of one post from one platform account, and what became of it.

    Written in the same transaction as the approval or scheduling (posting/publishing/outbox.py). The
    claim (pending -> sending) commits before any HTTP call; a send whose outcome we cannot know is
    ``unknown`` and is never re-sent without a look on the platform or an editor's word.
    """

    Status = PublicationStatus

    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="publications", verbose_name=_("post")
    )
    account = models.ForeignKey(
        "kols.PlatformAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="publications",
        verbose_name=_("account"),
        help_text=_("Empty when the KOL has no platform account (then it is a dry run)."),
    )
    backend = models.CharField(
        _("sent through"),
        max_length=10,
        choices=Backend.choices,
        blank=True,
        help_text=_("Decided when sent."),
    )
    dry_run_reason = models.CharField(_("why a dry run"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    post_version = models.PositiveIntegerField(_("approved version"))
    due_at = models.DateTimeField(
        _("due"),
        null=True,
        blank=True,
        help_text=_("Empty: approved, waiting to be scheduled or published now."),
    )
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    slot_at = models.DateTimeField(
        _("reserved slot"),
        null=True,
        blank=True,
        help_text=_("The account's pace reserved this time for it."),
    )
    task_eta = models.DateTimeField(
        _("task expected"),
        null=True,
        blank=True,
        help_text=_("When the queued task should run; empty = none queued."),
    )
    attempt_count = models.PositiveSmallIntegerField(_("sends"), default=0)
    claimed_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    platform_post_id = models.CharField(_("platform id"), max_length=100, blank=True)
    platform_post_url = models.URLField(_("platform URL"), blank=True)
    request_payload = models.JSONField(
        _("request"),
        default=dict,
        blank=True,
        help_text=_("Exactly what was sent (or, in a dry run, would have been)."),
    )
    last_http_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    note = models.TextField(_("note"), blank=True, help_text=_("Why it was not sent, or who confirmed it."))
    deleted_at = models.DateTimeField(_("deleted from the platform"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="publication_status_due_idx"),
            models.Index(fields=["status", "task_eta"], name="publication_status_eta_idx"),
            models.Index(fields=["status", "claimed_at"], name="publication_status_claim_idx"),
            models.Index(fields=["account", "claimed_at"], name="publication_account_claim_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PublicationStatus.values), name="publication_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(backend__in=["", *Backend.values]), name="publication_backend_valid"
            ),
            # Never two articles for one post: the database refuses a second published publication,
            # and a second one in flight.
            models.UniqueConstraint(
                fields=["post"], condition=Q(status="published"), name="publication_one_published_per_post"
            ),
            models.UniqueConstraint(
                fields=["post"],
                condition=Q(status__in=[s.value for s in OPEN_PUBLICATION_STATES]),
                name="publication_one_open_per_post",
            ),
            models.UniqueConstraint(
                fields=["backend", "platform_post_id"],
                condition=~Q(platform_post_id=""),
                name="publication_platform_id_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="publication_sending_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["published", "deleted"]) | Q(finished_at__isnull=False),
                name="publication_published_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} · {self.get_status_display()}"

    @property
    def is_dry_run(self) -> bool:
        return self.backend == Backend.DRY_RUN


class PublishAttempt(models.Model):
    """One HTTP exchange with the platform for a publication (or, in a dry run, the record of none)."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("Log in")
        CREATE = "create", _("Create article")
        DELETE = "delete", _("Delete article")
        LOOKUP = "lookup", _("Look up article")

    class Outcome(models.TextChoices):
        OK = "ok", _("OK")
        RETRYABLE = "retryable", _("Failed, not sent")
        PERMANENT = "permanent", _("Failed")
        UNKNOWN = "unknown", _("Outcome unknown")

    publication = models.ForeignKey(
        Publication, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("publication")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    dry_run = models.BooleanField(_("dry run"), default=False)
    started_at = models.DateTimeField(_("at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("publish attempt")
        verbose_name_plural = _("publish attempts")
        ordering = ["publication", "started_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["login", "create", "delete", "lookup"]), name="attempt_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=["ok", "retryable", "permanent", "unknown"]),
                name="attempt_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.http_status or '-'} {self.get_outcome_display()}"


class PlatformRate(models.Model):
    """The platform-wide token bucket when no Redis is configured (with Redis it lives there).

    Stored as GCRA's theoretical arrival time: one timestamp, updated under a row lock.
    """

    platform = models.CharField(_("platform"), max_length=20, unique=True)
    theoretical_arrival = models.DateTimeField(_("theoretical arrival time"))

    class Meta:
        verbose_name = _("platform rate")
        verbose_name_plural = _("platform rates")

    def __str__(self) -> str:
        return self.platform


# --- Generation batches (posting/batches.py) --------------------------------------------------------


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
