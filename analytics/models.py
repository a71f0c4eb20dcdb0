from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kols.models import KOL
from posting.models import Post

METRICS = ("likes", "comments", "shares", "saves", "tips", "views")


class SnapshotSource(models.TextChoices):
    SCHEDULED = "scheduled", _("At a fixed age")
    ADHOC = "adhoc", _("Refresh now")
    MANUAL = "manual", _("Entered by hand or through the API")
    PUSH = "push", _("Pushed by the platform")
    CSV = "csv", _("CSV import")


class InteractionSnapshot(models.Model):
    """Interaction counts of a published post at one moment. Rows are appended, never overwritten.

    A metric the platform does not provide is empty (None), not zero: CMoney has no views, and shares
    only when its answer carries ``@hash-shared``. ``slot`` names the fixed age ("1h", "24h", ...) the
    snapshot was taken for; empty for an ad-hoc, manual, pushed or imported one.
    """

    Source = SnapshotSource

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("post"))
    captured_at = models.DateTimeField(_("captured at"))
    likes = models.PositiveIntegerField(_("likes"), null=True, blank=True)
    comments = models.PositiveIntegerField(_("comments"), null=True, blank=True)
    shares = models.PositiveIntegerField(_("shares"), null=True, blank=True)
    saves = models.PositiveIntegerField(_("saves"), null=True, blank=True)
    tips = models.PositiveIntegerField(_("tips"), null=True, blank=True)
    views = models.PositiveIntegerField(_("views"), null=True, blank=True)
    raw = models.JSONField(_("raw payload"), default=dict, blank=True)
    slot = models.CharField(
        _("age slot"), max_length=10, blank=True, help_text=_("Empty: not a fixed-age snapshot.")
    )
    age_seconds = models.PositiveIntegerField(
        _("real age (seconds)"), null=True, blank=True, help_text=_("Seconds between publishing and capture.")
    )
    late = models.BooleanField(_("late"), default=False, help_text=_("Taken later than its slot allows."))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    reactions = models.JSONField(_("reactions by type"), default=dict, blank=True)
    score = models.DecimalField(_("score"), max_digits=12, decimal_places=2, null=True, blank=True)
    score_formula_version = models.PositiveIntegerField(_("score formula version"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    is_demo = models.BooleanField(_("demo"), default=False, help_text=_("Created by the demo command."))

    class Meta:
        verbose_name = _("interaction snapshot")
        verbose_name_plural = _("interaction snapshots")
        ordering = ["-captured_at"]
        constraints = [
            models.UniqueConstraint(fields=["post", "captured_at"], name="snapshot_one_per_post_time"),
            # One snapshot per post and age slot, whoever took it.
            models.UniqueConstraint(
                fields=["post", "slot"], condition=~Q(slot=""), name="snapshot_one_per_slot"
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": 0}),
                    name=f"snapshot_{name}_nonnegative",
                )
                for name in METRICS
            ],
        ]

    def __str__(self) -> str:
        return f"{self.post_id} @ {self.captured_at:%Y-%m-%d %H:%M}"


class SnapshotClaim(models.Model):
    """The collection of one post's snapshot at one age slot: planned once, claimed by one worker.

    Unique per (post, slot), so two beats or a redelivered task plan it once; a worker takes it with a
    compare-and-set on ``status`` (and a lease, so a worker that died gives it back).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Due")
        COLLECTING = "collecting", _("Collecting")
        DONE = "done", _("Collected")
        STOPPED = "stopped", _("Not collected")

    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="snapshot_claims", verbose_name=_("post")
    )
    slot = models.CharField(_("age slot"), max_length=10)
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    snapshot = models.OneToOneField(
        InteractionSnapshot, on_delete=models.SET_NULL, null=True, blank=True, related_name="claim"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("snapshot collection")
        verbose_name_plural = _("snapshot collections")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="claim_status_next_idx")]
        constraints = [
            models.UniqueConstraint(fields=["post", "slot"], name="claim_one_per_post_slot"),
            models.CheckConstraint(
                condition=~Q(status="collecting") | Q(lease_until__isnull=False),
                name="claim_collecting_leased",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} · {self.slot}"


class CollectionStop(models.Model):
    """Collection of a post stopped for good: the platform deleted it, or moderation hid it."""

    class Reason(models.TextChoices):
        DELETED = "deleted", _("Deleted on the platform")
        HIDDEN = "hidden", _("Hidden by moderation (red flag)")

    post = models.OneToOneField(
        Post, on_delete=models.CASCADE, related_name="collection_stop", verbose_name=_("post")
    )
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    at = models.DateTimeField(_("noticed at"))
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("stopped collection")
        verbose_name_plural = _("stopped collections")

    def __str__(self) -> str:
        return f"{self.post_id} · {self.get_reason_display()}"


class ScoreFormula(models.Model):
    """One version of the interaction score's weights. Versions are never edited: a change is a new one.

    Exactly one is active; every score records the version that made it.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    likes_weight = models.DecimalField(
        _("likes weight"), max_digits=6, decimal_places=2, default=Decimal("1")
    )
    comments_weight = models.DecimalField(
        _("comments weight"), max_digits=6, decimal_places=2, default=Decimal("1.5")
    )
    shares_weight = models.DecimalField(
        _("shares weight"), max_digits=6, decimal_places=2, default=Decimal("2")
    )
    saves_weight = models.DecimalField(
        _("saves weight"), max_digits=6, decimal_places=2, default=Decimal("2")
    )
    tips_weight = models.DecimalField(_("tips weight"), max_digits=6, decimal_places=2, default=Decimal("0"))
    is_active = models.BooleanField(_("active"), default=False)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    rescored_at = models.DateTimeField(
        _("rescored"),
        null=True,
        blank=True,
        help_text=_("When every stored score was recomputed with this version; empty while that runs."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    WEIGHTS = ("likes", "comments", "shares", "saves", "tips")

    class Meta:
        verbose_name = _("score formula")
        verbose_name_plural = _("score formulas")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="score_formula_one_active"
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}_weight__gte": 0}), name=f"score_{name}_weight_nonneg"
                )
                for name in ("likes", "comments", "shares", "saves", "tips")
            ],
        ]

    def __str__(self) -> str:
        return f"v{self.version}"

    def describe(self) -> str:
        """The formula in the reader's language: 「1 × 按讚 + 1.5 × 留言 + …」."""
        fields = {field.name: field for field in InteractionSnapshot._meta.fields}
        labels = {name: fields[name].verbose_name for name in self.WEIGHTS}
        return " + ".join(
            f"{getattr(self, f'{name}_weight').normalize():f} × {labels[name]}" for name in self.WEIGHTS
        )


class KOLSnapshot(models.Model):
    """A KOL's platform totals on one day (followers, articles). Appended daily, never overwritten."""

    kol = models.ForeignKey(KOL, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("KOL"))
    captured_at = models.DateTimeField(_("captured at"))
    day = models.DateField(_("day"))
    followers = models.PositiveIntegerField(_("followers"), null=True, blank=True)
    articles = models.PositiveIntegerField(_("articles"), null=True, blank=True)
    raw = models.JSONField(_("raw payload"), default=dict, blank=True)

    class Meta:
        verbose_name = _("KOL snapshot")
        verbose_name_plural = _("KOL snapshots")
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["kol", "day"], name="kol_snapshot_one_per_day")]

    def __str__(self) -> str:
        return f"{self.kol_id} @ {self.day}"


class PostFeatures(models.Model):
    """What the analyses compare, for one published post with a 24 h score: computed once, read by SQL.

    Features that need Python (emoji count, edit distance between the generated and the approved text,
    the market cap at generation time) are worked out when the row is written, so every analysis is a
    plain GROUP BY over this table, on PostgreSQL and SQLite alike (analytics/features.py).
    """

    post = models.OneToOneField(
        Post, on_delete=models.CASCADE, primary_key=True, related_name="features", verbose_name=_("post")
    )
    # Indexed by features_kol_scores_idx, which leads with kol_id (it serves the foreign key too).
    kol = models.ForeignKey(
        "kols.KOL", on_delete=models.CASCADE, related_name="+", verbose_name=_("KOL"), db_index=False
    )
    persona = models.CharField(_("persona"), max_length=20, blank=True)
    content_style = models.CharField(_("content style"), max_length=200, blank=True)
    post_type = models.CharField(_("post type"), max_length=30, blank=True)
    trigger_type = models.CharField(_("trigger"), max_length=30, blank=True)
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    market_cap = models.CharField(_("market cap"), max_length=12, blank=True)
    hour = models.PositiveSmallIntegerField(_("hour (Asia/Taipei)"))
    weekday = models.PositiveSmallIntegerField(_("weekday (Monday = 0)"))
    published_at = models.DateTimeField(_("published at"))
    published_day = models.DateField(_("published day (Asia/Taipei)"))
    title_length = models.CharField(_("title length"), max_length=12, blank=True)
    body_length = models.CharField(_("body length"), max_length=12, blank=True)
    ends_with_question = models.BooleanField(_("ends with a question"), default=False)
    emoji = models.CharField(_("emoji"), max_length=12, blank=True)
    stance = models.CharField(_("stance"), max_length=10, blank=True)
    prompt_version = models.CharField(_("prompt version"), max_length=50, blank=True)
    llm_model = models.CharField(_("model"), max_length=100, blank=True)
    generator = models.CharField(_("generator"), max_length=10, blank=True)
    edit_distance = models.PositiveIntegerField(_("edit distance"), null=True, blank=True)
    edited = models.CharField(_("edited by a person"), max_length=12, blank=True)
    has_news = models.BooleanField(_("news in context"), default=False)
    playbook_group = models.CharField(_("learning group"), max_length=10, blank=True)
    playbook_version = models.PositiveIntegerField(_("playbook version"), null=True, blank=True)
    score = models.FloatField(_("24 h score"))
    score_late = models.BooleanField(_("24 h score taken late"), default=False)
    is_demo = models.BooleanField(_("demo"), default=False)
    dry_run = models.BooleanField(_("dry run"), default=False)
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("post features")
        verbose_name_plural = _("post features")
        indexes = [
            models.Index(fields=["published_at"], name="features_published_idx"),
            # The exact top 20%: the k-th post by score (ties by post id) is read from this index.
            models.Index(fields=["-score", "post_id"], name="features_score_idx"),
            # Per-KOL figures (the leaderboard's medians, a dashboard filtered to one KOL) read only this
            # index: PostgreSQL walks it in KOL order with no heap access. With the plain kol_id index it
            # fetched every row at random for the median's ordered input: 1.8-2.2 s at 1M posts.
            models.Index(
                fields=["kol", "published_at", "score", "is_demo", "dry_run", "score_late"],
                name="features_kol_scores_idx",
            ),
        ]

    def __str__(self) -> str:
        return str(self.post_id)


class AnalysisResult(models.Model):
    """A stored analysis (the daily job writes them; dashboards and the API read them)."""

    kind = models.CharField(_("analysis"), max_length=30)
    key = models.CharField(_("parameters"), max_length=200)
    data = models.JSONField(_("result"), default=dict)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("analysis result")
        verbose_name_plural = _("analysis results")
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="analysis_one_per_kind_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
