"""Measuring the checks on families of test phrasings (``check_draft --families FILE``).

A families file is JSON with a shared ``snapshot`` and three lists of families, each a name, an
expectation and several texts:

- ``compliance``: ``expect`` "block" (some compliance finding blocks the text) or "none" (no compliance
  finding at all, the required risk reminder aside: that one is about what is missing);
- ``grounding``: ``expect`` "ungrounded" (some grounding finding) or "grounded" (none), checked against the
  family's ``snapshot`` or the shared one, as a post about the family's ``stock_code`` or the shared one;
- ``duplicates``: an ``original`` and texts that ``expect`` "duplicate" (found as a near-duplicate of it)
  or "distinct" (not found);
- ``stance`` (optional): texts whose stance, read by rules, ``expect`` "bullish", "bearish" or "neutral";
  measured as accuracy.

Recall is the share of texts that should fire and did; the false-alarm rate the share of texts that
should not fire and did. Every text that went the wrong way is listed with its findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from market.models import Stock
from posting.checks.service import draft_check
from posting.checks.stance import stance_read
from posting.checks.stocks import master_stock
from posting.checks.types import Finding

REMINDER_CODE = "compliance.missing_risk_reminder"
SECTIONS = ("compliance", "grounding", "duplicates")


class FamiliesError(ValueError):
    pass


def _families(data: Mapping[str, Any], section: str) -> list[Mapping[str, Any]]:
    families = data.get(section, [])
    if not isinstance(families, list):
        raise FamiliesError(f'"{section}" must be a list of families.')
    for index, family in enumerate(families):
        texts = family.get("texts") if isinstance(family, Mapping) else None
        if not isinstance(texts, list) or not all(isinstance(text, str) and text.strip() for text in texts):
            raise FamiliesError(f'{section}[{index}] needs "texts": a list of non-empty strings.')
        if not isinstance(family.get("expect"), str):
            raise FamiliesError(f'{section}[{index}] needs "expect".')
    return families


def _compliance_fired(findings: Sequence[Finding], expect: str) -> bool:
    codes = [f for f in findings if f.code.startswith("compliance.") and f.code != REMINDER_CODE]
    if expect == "block":
        return any(f.severity == "block" for f in codes)
    return bool(codes)


class _Tally:
    def __init__(self) -> None:
        self.positives = self.hits = self.negatives = self.false_alarms = 0
        self.misses: list[dict[str, Any]] = []

    def add(
        self, *, should_fire: bool, fired: bool, family: str, text: str, findings: Sequence[Finding]
    ) -> None:
        if should_fire:
            self.positives += 1
            self.hits += fired
        else:
            self.negatives += 1
            self.false_alarms += fired
        if fired != should_fire:
            self.misses.append(
                {
                    "family": family,
                    "text": text,
                    "expected": "fire" if should_fire else "silent",
                    "findings": [f"{f.code} «{f.excerpt}»" for f in findings],
                }
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "recall": round(self.hits / self.positives, 4) if self.positives else None,
            "false_alarm_rate": round(self.false_alarms / self.negatives, 4) if self.negatives else None,
            "should_fire": self.positives,
            "fired": self.hits,
            "should_not_fire": self.negatives,
            "false_alarms": self.false_alarms,
            "wrong": self.misses,
        }


def family_stock(code: Any) -> Stock | None:
    """The stock a family's texts are about (the stock table, else the shipped master); None without a code."""
    if code is None:
        return None
    if not isinstance(code, str) or not code.strip():
        raise FamiliesError('"stock_code" must be a stock code such as "2330".')
    stock = Stock.objects.filter(code=code.strip()).first() or master_stock(code.strip())
    if stock is None:
        raise FamiliesError(f'Unknown stock_code "{code}".')
    return stock


def _check(
    text: str, snapshot: Any = None, compare_with: Sequence[str] = (), stock: Stock | None = None
) -> list[Finding]:
    report = draft_check(
        title="",
        body=text,
        snapshot=snapshot,
        stock=stock,
        compare_with=compare_with,
        include_recent_posts=False,
        llm_classifier=False,
    )
    return list(report.findings)


def families_evaluate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Run every family through ``draft_check`` and measure recall and false alarms per section."""
    if not isinstance(data, Mapping):
        raise FamiliesError("The families file must hold a JSON object.")
    shared = data.get("snapshot")
    tallies = {section: _Tally() for section in SECTIONS}
    for family in _families(data, "compliance"):
        for text in family["texts"]:
            findings = _check(text)
            fired = _compliance_fired(findings, family["expect"])
            tallies["compliance"].add(
                should_fire=family["expect"] == "block",
                fired=fired,
                family=family.get("family", ""),
                text=text,
                findings=findings,
            )
    for family in _families(data, "grounding"):
        snapshot = family.get("snapshot", shared)
        stock = family_stock(family.get("stock_code", data.get("stock_code")))
        for text in family["texts"]:
            findings = [f for f in _check(text, snapshot, stock=stock) if f.code.startswith("grounding.")]
            tallies["grounding"].add(
                should_fire=family["expect"] == "ungrounded",
                fired=bool(findings),
                family=family.get("family", ""),
                text=text,
                findings=findings,
            )
    for family in _families(data, "duplicates"):
        original = family.get("original")
        if not isinstance(original, str) or not original.strip():
            raise FamiliesError('Every duplicates family needs its "original" text.')
        for text in family["texts"]:
            findings = [f for f in _check(text, None, [original]) if f.code.startswith("duplicate.")]
            tallies["duplicates"].add(
                should_fire=family["expect"] == "duplicate",
                fired=bool(findings),
                family=family.get("family", ""),
                text=text,
                findings=findings,
            )
    figures = {section: tally.to_dict() for section, tally in tallies.items()}
    if "stance" in data:
        figures["stance"] = _stance_accuracy(_families(data, "stance"))
    return figures


def _stance_accuracy(families: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    right = total = 0
    wrong: list[dict[str, Any]] = []
    for family in families:
        for text in family["texts"]:
            read = stance_read(title="", body=text).stance
            total += 1
            right += read == family["expect"]
            if read != family["expect"]:
                wrong.append({"family": family.get("family", ""), "text": text, "read": read})
    return {"accuracy": round(right / total, 4) if total else None, "texts": total, "wrong": wrong}
