"""The test families (tests/posting/checks/fixtures/families.json): several phrasings per pattern, including
those that must not fire, each checked on its own, and ``check_draft --families`` measuring them all."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from market.models import Stock
from posting.checks import draft_check
from posting.checks.claims import claim_findings
from posting.checks.families import REMINDER_CODE, family_stock
from posting.checks.stance import stance_read
from posting.checks.stocks import stock_directory
from tests.factories import default_compliance_rules

pytestmark = pytest.mark.django_db

FAMILIES_FILE = Path(__file__).parent / "fixtures" / "families.json"
# Written after the first round of fixes, to measure them on phrasings they were not written for.
HOLDOUT_FILE = Path(__file__).parent / "fixtures" / "families_holdout.json"
FAMILIES = json.loads(FAMILIES_FILE.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _default_rules(db: None) -> None:
    default_compliance_rules()


def _cases(section: str) -> list[Any]:
    return [
        pytest.param(family, text, id=f"{family['family']}-{index}")
        for family in FAMILIES[section]
        for index, text in enumerate(family["texts"])
    ]


def _check(text: str, **kwargs: Any) -> list[Any]:
    return list(draft_check(title="", body=text, include_recent_posts=False, **kwargs).findings)


@pytest.mark.parametrize(("family", "text"), _cases("compliance"))
def test_compliance_family(family: dict[str, Any], text: str) -> None:
    findings = [f for f in _check(text) if f.code.startswith("compliance.") and f.code != REMINDER_CODE]
    if family["expect"] == "block":
        assert any(f.severity == "block" for f in findings), text
    else:
        assert findings == [], text


@pytest.mark.parametrize(("family", "text"), _cases("grounding"))
def test_grounding_family(family: dict[str, Any], text: str) -> None:
    stock = family_stock(family.get("stock_code", FAMILIES.get("stock_code")))
    findings = [
        f for f in _check(text, snapshot=FAMILIES["snapshot"], stock=stock) if f.code.startswith("grounding.")
    ]
    assert bool(findings) is (family["expect"] == "ungrounded"), (text, findings)
    for finding in findings:
        # The finding names the snapshot figure it was held against.
        assert finding.detail["reference"]["label"]
        assert finding.excerpt in text


@pytest.mark.parametrize(("family", "text"), _cases("duplicates"))
def test_duplicate_family(family: dict[str, Any], text: str) -> None:
    findings = [f for f in _check(text, compare_with=[family["original"]]) if f.code.startswith("duplicate.")]
    assert bool(findings) is (family["expect"] == "duplicate"), text


@pytest.mark.parametrize("path", [FAMILIES_FILE, HOLDOUT_FILE], ids=["families", "holdout"])
def test_check_draft_measures_the_families_in_one_json_line(path: Path) -> None:
    out = StringIO()
    call_command("check_draft", families=str(path), stdout=out)
    (line,) = out.getvalue().strip().splitlines()
    figures = json.loads(line)
    assert figures["compliance"]["recall"] >= 0.95
    assert figures["compliance"]["false_alarm_rate"] <= 0.05
    assert figures["grounding"]["recall"] >= 0.95
    assert figures["duplicates"]["recall"] >= 0.95
    assert figures["duplicates"]["false_alarms"] == 0


def test_check_draft_refuses_a_families_file_it_cannot_read(tmp_path: Path) -> None:
    broken = tmp_path / "families.json"
    broken.write_text('{"compliance": [{"family": "x", "expect": "block"}]}', encoding="utf-8")
    with pytest.raises(CommandError, match='needs "texts"'):
        call_command("check_draft", families=str(broken))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("check_draft", families=str(tmp_path / "missing.json"))


@pytest.mark.parametrize(("family", "text"), _cases("stance"))
def test_stance_family(family: dict[str, Any], text: str) -> None:
    assert stance_read(title="", body=text).stance == family["expect"]


def test_check_draft_explain_prints_the_rule_the_excerpt_and_the_figure_held_against(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draft = {
        "title": "盤後",
        "content": "台積電今天漲停。年化穩定兩成以上。投資有風險，請自行判斷。",
        "snapshot": FAMILIES["snapshot"],
    }
    monkeypatch.setattr("sys.stdin", StringIO(json.dumps(draft, ensure_ascii=False)))
    out = StringIO()
    call_command("check_draft", "--explain", "--no-recent-posts", "--no-llm", stdout=out)
    report, *lines = out.getvalue().strip().splitlines()
    assert len(lines) == len(json.loads(report)["findings"])
    assert any(line.startswith("block compliance.guaranteed_outcome (body) «年化穩定兩成»") for line in lines)
    (claim,) = [line for line in lines if "grounding.claim_limit_up" in line]
    assert "«漲停»" in claim and "[held against close (limit up 110) = 104]" in claim


EXCERPT = json.loads(
    (Path(__file__).parent / "fixtures" / "twse_day_excerpt.json").read_text(encoding="utf-8")
)


def _day_claims(row: dict[str, str]) -> tuple[dict[str, float], list[str], list[str]]:
    """A real day's quote, claims that fit it and claims that do not."""
    close, change = float(row["ClosingPrice"]), float(row["Change"])
    snapshot = {
        "close": close,
        "open": float(row["OpeningPrice"]),
        "high": float(row["HighestPrice"]),
        "low": float(row["LowestPrice"]),
        "change": change,
    }
    name, up = row["Name"], change > 0
    right = [f"{name}今天上漲，收紅。" if up else f"{name}今天下跌，收黑。"]
    wrong = [f"{name}今天下跌。", f"{name}今天翻黑。"] if up else [f"{name}今天上漲。", f"{name}今天翻紅。"]
    limit = f"{name}今天漲停。" if up else f"{name}今天跌停。"
    (right if abs(change / (close - change)) >= 0.095 else wrong).append(limit)
    return snapshot, right, wrong


@pytest.mark.parametrize("row", EXCERPT["rows"], ids=[row["Code"] for row in EXCERPT["rows"]])
def test_claims_on_a_real_trading_day_fit_only_what_the_quote_did(row: dict[str, str]) -> None:
    snapshot, right, wrong = _day_claims(row)
    stock = Stock(code=row["Code"], name=row["Name"])
    for text in right:
        assert (
            claim_findings(texts={"body": text}, snapshot=snapshot, stock=stock, directory=stock_directory())
            == []
        )
    for text in wrong:
        assert claim_findings(
            texts={"body": text}, snapshot=snapshot, stock=stock, directory=stock_directory()
        ), text
