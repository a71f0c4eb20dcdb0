"""The one draft check: compliance, grounding, near-duplicates, quality and machine-text, in one report.

Used by generation, by the re-check after an editor's change, by the API and by ``check_draft``.

Risk level: ``blocked`` when any finding has severity block; otherwise warn findings add points
(compliance 2, near-duplicate 3, ungrounded figure 1 each) and 3 or more points is ``high``, 1–2 is
``medium``, none is ``low``. So one compliance warning is medium, two are high; a near-duplicate is high;
one or two ungrounded figures are medium, three are high; a stance finding (``stance.reversal``,
``stance.coordinated``) adds 1. Findings added by the optional LLM classifier
(``compliance.llm.<category>``, always warn) count as compliance; ``compliance.llm_unavailable``, which
only says the classifier did not run, adds no points: the risk level describes the text, not the LLM's
availability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from kols.models import KOL
from market.models import Stock
from posting.checks.claims import claim_findings
from posting.checks.classifier import (
    DISABLED,
    UNAVAILABLE_CODE,
    ClassifierAnswer,
    ClassifierClient,
    ClassifierOutcome,
    classifier_enabled,
    classifier_run,
)
from posting.checks.compliance import active_rules, compliance_findings
from posting.checks.duplicates import find_duplicates
from posting.checks.grounding import ground
from posting.checks.numbers import extract_figures
from posting.checks.quality import machine_text_score, quality_score
from posting.checks.stance import stance_check
from posting.checks.stocks import stock_directory
from posting.checks.types import Field, Finding, Part
from posting.models import Post

RISK_POINTS = {"compliance": 2, "duplicate": 3, "grounding": 1}
HIGH_RISK_POINTS = 3
NO_RISK_CODES = frozenset({UNAVAILABLE_CODE})


class CheckInputError(ServiceError):
    code = "check_input_invalid"


@dataclass(frozen=True)
class CheckReport:
    findings: tuple[Finding, ...]
    risk_level: str
    risk_points: int
    quality_score: float
    quality_breakdown: dict[str, Part]
    machine_text_score: float
    machine_text_breakdown: dict[str, Part]
    max_similarity: float
    closest_post_id: str | None
    duplicates: dict[str, Any]
    grounding: dict[str, Any]
    rules_applied: int
    # {"enabled", "ran", ...}: see posting/checks/classifier.py
    classifier: dict[str, Any] = dataclass_field(default_factory=lambda: dict(DISABLED.summary))
    # {"stance", "thesis", "source", "explained", ...}: see posting/checks/stance.py
    stance: dict[str, Any] = dataclass_field(default_factory=dict)

    @property
    def has_blocking_finding(self) -> bool:
        return any(finding.severity == "block" for finding in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk_level": self.risk_level,
            "findings": [finding.to_dict() for finding in self.findings],
            "quality_score": self.quality_score,
            "machine_text_score": self.machine_text_score,
            "max_similarity": self.max_similarity,
            "closest_post_id": self.closest_post_id,
            "risk_points": self.risk_points,
            "quality_breakdown": {name: part.to_dict() for name, part in self.quality_breakdown.items()},
            "machine_text_breakdown": {
                name: part.to_dict() for name, part in self.machine_text_breakdown.items()
            },
            "grounding": self.grounding,
            "duplicates": self.duplicates,
            "rules_applied": self.rules_applied,
            "classifier": self.classifier,
            "stance": self.stance,
        }


def risk_of(findings: Sequence[Finding]) -> tuple[str, int]:
    """The risk level and the points of the warn findings (see the module docstring)."""
    points = sum(
        RISK_POINTS.get(finding.code.split(".", 1)[0], 1)
        for finding in findings
        if finding.severity == "warn" and finding.code not in NO_RISK_CODES
    )
    if any(finding.severity == "block" for finding in findings):
        return Post.RiskLevel.BLOCKED.value, points
    if points >= HIGH_RISK_POINTS:
        return Post.RiskLevel.HIGH.value, points
    if points:
        return Post.RiskLevel.MEDIUM.value, points
    return Post.RiskLevel.LOW.value, points


def _validate(title: Any, body: Any, snapshot: Any, compare_with: Any) -> None:
    if not isinstance(title, str) or not isinstance(body, str):
        raise CheckInputError(_("The title and the body to check must be text."))
    if not body.strip():
        raise CheckInputError(_("The body to check is empty."))
    if snapshot is not None and not isinstance(snapshot, Mapping):
        raise CheckInputError(_("The market snapshot must be an object of named figures."))
    if isinstance(compare_with, str) or not all(isinstance(text, str) for text in compare_with):
        raise CheckInputError(_("compare_with must be a list of texts."))


def draft_check(
    *,
    title: str,
    body: str,
    snapshot: Mapping[str, Any] | None = None,
    stock: Stock | None = None,
    kol: KOL | None = None,
    post_type: str = "",
    exclude_post_id: Any = None,
    compare_with: Sequence[str] = (),
    include_recent_posts: bool = True,
    llm_classifier: bool | None = None,
    classifier_client: ClassifierClient | None = None,
    classifier_answer: ClassifierAnswer | None = None,
) -> CheckReport:
    """Check a draft's text. Reads the database (rules, stocks, recent posts); writes nothing.

    ``llm_classifier`` runs the optional LLM compliance classifier (True), skips it (False) or follows
    the ``COMPLIANCE_LLM_CLASSIFIER`` setting (None). It can only add ``compliance.llm.*`` warn findings;
    when the LLM fails, the report keeps every other finding and score, its ``classifier`` section says
    ``{"ran": false, "error": ...}`` and a ``compliance.llm_unavailable`` warn finding says so.
    ``classifier_client`` replaces the client made from settings (tests route it through a transport).
    ``classifier_answer`` is the LLM's answer asked for earlier by ``classifier_ask`` (so that a caller
    inside a transaction never waits on the LLM there); it is used when the classifier is on.
    """
    _validate(title, body, snapshot, compare_with)
    texts: dict[Field, str] = {"title": title, "body": body}
    rules = active_rules()
    directory = stock_directory()
    findings = compliance_findings(texts=texts, rules=rules, stock=stock, directory=directory)
    classified = _classify(texts, findings, llm_classifier, classifier_client, classifier_answer)
    findings += classified.findings

    skip_codes = set(directory.codes) | ({stock.code.lower()} if stock is not None else set())
    figures = [
        *extract_figures(title, field="title", skip_codes=skip_codes),
        *extract_figures(body, field="body", skip_codes=skip_codes),
    ]
    grounding = ground(figures, snapshot or None)
    findings += grounding.findings
    claims = claim_findings(texts=texts, snapshot=snapshot, stock=stock, directory=directory)
    findings += _new_claims(claims, grounding.findings)

    duplicates = find_duplicates(
        title=title,
        body=body,
        compare_with=compare_with,
        exclude_post_id=exclude_post_id,
        include_posts=include_recent_posts,
    )
    findings += duplicates.findings

    stance = stance_check(
        title=title,
        body=body,
        kol=kol,
        stock=stock,
        exclude_post_id=exclude_post_id,
        llm_reading=classified.stance,
    )
    findings += stance.findings

    machine, machine_parts = machine_text_score(body=body)
    quality, quality_parts = quality_score(
        title=title,
        body=body,
        post_type=post_type,
        grounding_ratio=grounding.ratio,
        grounding_checked=grounding.checked,
        figures_counted=grounding.counted,
        kol=kol,
        machine_score=machine,
    )
    risk_level, points = risk_of(findings)
    return CheckReport(
        findings=tuple(findings),
        risk_level=risk_level,
        risk_points=points,
        quality_score=quality,
        quality_breakdown=quality_parts,
        machine_text_score=machine,
        machine_text_breakdown=machine_parts,
        max_similarity=duplicates.max_similarity,
        closest_post_id=duplicates.closest.post_id if duplicates.closest else None,
        duplicates=duplicates.to_dict(),
        grounding=grounding.to_dict(),
        rules_applied=len(rules),
        classifier=classified.summary,
        stance=stance.reading.to_dict(),
    )


_CLAIM_FIGURE_GAP = 3


def _new_claims(claims: Sequence[Finding], figures: Sequence[Finding]) -> list[Finding]:
    """Claim findings not already reported by an ungrounded figure on the same words (「下跌4元」)."""

    def reported(claim: Finding, figure: Finding) -> bool:
        if figure.field != claim.field or None in (figure.start, figure.end, claim.start, claim.end):
            return False
        assert figure.start is not None and figure.end is not None
        assert claim.start is not None and claim.end is not None
        return figure.start < claim.end + _CLAIM_FIGURE_GAP and claim.start < figure.end

    return [claim for claim in claims if not any(reported(claim, figure) for figure in figures)]


def _classify(
    texts: dict[Field, str],
    findings: Sequence[Finding],
    requested: bool | None,
    client: ClassifierClient | None,
    answer: ClassifierAnswer | None,
) -> ClassifierOutcome:
    if not classifier_enabled(requested):
        return ClassifierOutcome(findings=(), summary=dict(DISABLED.summary))
    return classifier_run(texts=texts, existing=findings, client=client, answer=answer)


def check_report_apply(*, post: Post, report: CheckReport) -> list[str]:
    """Copy a report onto the post's fields without saving; returns the field names for ``update_fields``."""
    summary = report.to_dict()
    post.check_findings = summary.pop("findings")
    post.check_summary = summary
    post.checked_at = timezone.now()
    post.checked_version = post.version
    post.quality_score = report.quality_score
    post.machine_text_score = report.machine_text_score
    post.risk_level = report.risk_level
    return [
        "check_findings",
        "check_summary",
        "checked_at",
        "checked_version",
        "quality_score",
        "machine_text_score",
        "risk_level",
    ]
