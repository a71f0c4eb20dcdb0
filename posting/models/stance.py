"""The stance ledger: what each persona said about each stock in its published posts."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kols.models import KOL
from market.models import Stock
from posting.models.posts import Post


class Stance(models.TextChoices):
    BULLISH = "bullish", _("Bullish")
    BEARISH = "bearish", _("Bearish")
    NEUTRAL = "neutral", _("Neutral")


class StanceEntry(models.Model):
    """One published post's stance on its stock, as the draft checks read it (by the LLM or by rules).

    Written once when the post is published (posting/lifecycle/stance.py); the checks of a later draft by
    the same persona on the same stock read it to spot an unexplained reversal (``stance.reversal``) and,
    across personas, the same side taken by several on one day (``stance.coordinated``).
    """

    Stance = Stance

    class Source(models.TextChoices):
        LLM = "llm", _("LLM")
        RULES = "rules", _("Rules")

    kol = models.ForeignKey(KOL, on_delete=models.CASCADE, related_name="stances", verbose_name=_("KOL"))
    stock = models.ForeignKey(
        Stock, on_delete=models.CASCADE, related_name="stances", verbose_name=_("stock")
    )
    post = models.OneToOneField(
        Post, on_delete=models.CASCADE, related_name="stance_entry", verbose_name=_("post")
    )
    stance = models.CharField(_("stance"), max_length=10, choices=Stance.choices)
    thesis = models.CharField(_("thesis"), max_length=200, blank=True)
    source = models.CharField(_("read by"), max_length=10, choices=Source.choices, default=Source.RULES)
    published_at = models.DateTimeField(_("published at"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("stance entry")
        verbose_name_plural = _("stance ledger")
        ordering = ["-published_at"]
        indexes = [
            models.Index(fields=["kol", "stock", "-published_at"], name="stance_kol_stock_recent"),
            models.Index(fields=["stock", "-published_at"], name="stance_stock_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stance__in=["bullish", "bearish", "neutral"]),
                name="stance_entry_stance_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kol} · {self.stock_id} · {self.stance}"
