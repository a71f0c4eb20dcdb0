from __future__ import annotations

import json

import pytest

from posting.checks import CheckInputError, Finding, check_report_apply, draft_check, risk_of
from posting.models import Post
from tests.factories import PostFactory
from tests.posting.checks_support import SNAPSHOT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_rules")]


def _finding(code: str, severity: str = "warn") -> Finding:
    return Finding(code=code, severity=severity, excerpt="x", message="m")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("codes", "level"),
    [
        ([], "low"),
        (["grounding.ungrounded_price"], "medium"),
        (["grounding.ungrounded_price"] * 3, "high"),
        (["compliance.rumour"], "medium"),
        (["compliance.rumour", "compliance.return_promise"], "high"),
        (["compliance.rumour", "grounding.ungrounded_price"], "high"),
        (["duplicate.near_duplicate_post"], "high"),
    ],
)
def test_the_risk_level_follows_the_stated_points(codes: list[str], level: str) -> None:
    assert risk_of([_finding(code) for code in codes])[0] == level


def test_any_blocking_finding_makes_the_draft_blocked() -> None:
    level, _points = risk_of([_finding("grounding.ungrounded_price"), _finding("compliance.x", "block")])
    assert level == "blocked"


def test_a_clean_grounded_post_is_low_risk_and_serialises_to_json() -> None:
    report = draft_check(
        title="台積電盤後",
        body="台積電今天收盤104元，上漲4元，漲幅約4%，成交量1.2萬張。投資有風險，請自行判斷。",
        snapshot=SNAPSHOT,
    )
    assert report.findings == ()
    assert report.risk_level == "low"
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert set(data) >= {"risk_level", "findings", "quality_score", "machine_text_score", "max_similarity"}
    assert data["grounding"]["figures_grounded"] == 4


def test_applying_a_report_sets_the_posts_fields_without_saving() -> None:
    post = PostFactory.create(body="這檔保證獲利，私訊我。")
    report = draft_check(title=post.title, body=post.body, exclude_post_id=post.pk)
    fields = check_report_apply(post=post, report=report)
    assert (post.risk_level, post.quality_score, post.machine_text_score) == (
        "blocked",
        report.quality_score,
        report.machine_text_score,
    )
    assert post.has_blocking_finding
    stored = Post.objects.get(pk=post.pk)
    assert stored.risk_level == "" and stored.quality_score is None
    post.save(update_fields=fields)
    assert Post.objects.get(pk=post.pk).risk_level == "blocked"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"title": "t", "body": "   "}, "empty"),
        ({"title": None, "body": "內容"}, "text"),
        ({"title": "t", "body": "內容", "snapshot": [1, 2]}, "snapshot"),
        ({"title": "t", "body": "內容", "compare_with": "一段文字"}, "compare_with"),
    ],
)
def test_bad_input_is_refused_with_a_reason(kwargs: dict, words: str) -> None:
    with pytest.raises(CheckInputError) as caught:
        draft_check(**kwargs)
    assert words in caught.value.message
