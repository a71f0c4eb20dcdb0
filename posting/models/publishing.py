"""Publishing (posting/publishing): the outbox of publications, their attempts and the platform rate."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from posting.models.posts import Post


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


class PublicationKind(models.TextChoices):
    CREATE = "create", _("New article")
    UPDATE = "update", _("Edit of the published article")


class Publication(models.Model):
    """The outbox: one send of one post from one platform account, and what became of it.

    Written in the same transaction as the approval or scheduling (posting/publishing/outbox.py). The
    claim (pending -> sending) commits before any HTTP call; a send whose outcome we cannot know is
    ``unknown`` and is never re-sent without a look on the platform or an editor's word.
    """

    Status = PublicationStatus
    Kind = PublicationKind

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
    kind = models.CharField(
        _("kind"),
        max_length=10,
        choices=PublicationKind.choices,
        default=PublicationKind.CREATE,
        help_text=_("A new article, or an approved edit pushed to the article already published."),
    )
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
    hidden_by_moderation_at = models.DateTimeField(
        _("hidden by moderation"),
        null=True,
        blank=True,
        help_text=_(
            "CMoney answered that the article is red-flagged (紅標): it exists but is hidden. Never send it again."
        ),
    )
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
                fields=["post"],
                condition=Q(status="published", kind="create"),
                name="publication_one_published_create_per_post",
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
        UPDATE = "update", _("Update article")

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
                condition=Q(kind__in=["login", "create", "delete", "lookup", "update"]),
                name="attempt_kind_with_update_valid",
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


class PlatformHalt(models.Model):
    """Sending to a platform is stopped because OUR configuration is wrong (CMoney refused the client id).

    No account is paused for it: every publication waits until an operator fixes the setting and
    deletes this row ("resume sending" in the admin).
    """

    platform = models.CharField(_("platform"), max_length=20, unique=True)
    reason = models.TextField(_("reason"))
    halted_at = models.DateTimeField(_("halted at"))

    class Meta:
        verbose_name = _("halted platform")
        verbose_name_plural = _("halted platforms")

    def __str__(self) -> str:
        return self.platform
