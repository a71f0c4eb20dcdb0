from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from posting.models import Post


class InteractionSnapshot(models.Model):
    """Interaction counts of a published post at one moment. Rows are appended, never overwritten.

    A metric the platform does not provide is empty (None), not zero: CMoney has no views and no shares.
    """

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("post"))
    captured_at = models.DateTimeField(_("captured at"))
    likes = models.PositiveIntegerField(_("likes"), null=True, blank=True)
    comments = models.PositiveIntegerField(_("comments"), null=True, blank=True)
    shares = models.PositiveIntegerField(_("shares"), null=True, blank=True)
    saves = models.PositiveIntegerField(_("saves"), null=True, blank=True)
    tips = models.PositiveIntegerField(_("tips"), null=True, blank=True)
    views = models.PositiveIntegerField(_("views"), null=True, blank=True)
    raw = models.JSONField(_("raw payload"), default=dict, blank=True)

    class Meta:
        verbose_name = _("interaction snapshot")
        verbose_name_plural = _("interaction snapshots")
        ordering = ["-captured_at"]
        constraints = [
            models.UniqueConstraint(fields=["post", "captured_at"], name="snapshot_one_per_post_time"),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": 0}),
                    name=f"snapshot_{name}_nonnegative",
                )
                for name in ("likes", "comments", "shares", "saves", "tips", "views")
            ],
        ]

    def __str__(self) -> str:
        return f"{self.post_id} @ {self.captured_at:%Y-%m-%d %H:%M}"


class PostFeatures(models.Model):
    """What the analyses compare, for one published post with a 24 h score: computed once, read by SQL.

    Features that need Python (emoji count, edit distance between the generated and the approved text,
    the market cap at generation time) are worked out when the row is written, so every analysis is a
    plain GROUP BY over this table, on PostgreSQL and SQLite alike (analytics/features.py).
    """

    post = models.OneToOneField(
        Post, on_delete=models.CASCADE, primary_key=True, related_name="features", verbose_name=_("post")
    )
    kol = models.ForeignKey("kols.KOL", on_delete=models.CASCADE, related_name="+", verbose_name=_("KOL"))
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
