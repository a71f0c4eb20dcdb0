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
    is_demo = models.BooleanField(_("demo"), default=False, help_text=_("Created by the demo command."))

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
