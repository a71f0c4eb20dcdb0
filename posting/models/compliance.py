"""The compliance rules the draft checks apply (posting/checks/compliance.py)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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
