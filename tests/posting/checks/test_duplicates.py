from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from posting.checks import draft_check
from posting.checks.duplicates import find_duplicates, fold_text, similarity
from posting.models import Post
from tests.factories import KOLFactory, PostFactory

pytestmark = pytest.mark.django_db

ORIGINAL = (
    "台積電今天收盤104元，上漲4元，外資連續三天買超，成交量明顯放大。"
    "先進製程需求強勁，法說會釋出的展望也優於預期，短線可以留意季線附近的支撐表現。"
    "投資有風險，請自行判斷。"
)
SIMPLIFIED_NEW_NUMBERS = (
    "台积电今天收盘108元，上涨8元，外资连续五天买超，成交量明显放大。"
    "先进制程需求强劲，法说会释出的展望也优于预期，短线可以留意季线附近的支撑表现。"
    "投资有风险，请自行判断。"
)
UNRELATED = (
    "長榮今天跌了1塊，運價指數連三週回落，市場擔心紅海航線恢復後運力過剩。"
    "不過公司現金部位很厚，配息政策也穩定，我會等財報出來再說。"
    "投資有風險，請自行判斷。"
)


def test_simplified_text_with_other_numbers_is_a_near_duplicate() -> None:
    result = find_duplicates(
        title="", body=ORIGINAL, compare_with=[SIMPLIFIED_NEW_NUMBERS], include_posts=False
    )
    assert result.max_similarity >= 0.95
    (finding,) = result.findings
    assert "duplicate" in finding.code
    assert finding.detail["index"] == 0


def test_full_width_punctuation_and_spacing_do_not_hide_a_copy() -> None:
    spaced = ORIGINAL.replace("，", " , ").replace("。", "！！ ")
    assert similarity(fold_text("", ORIGINAL), fold_text("", spaced)) == 1.0


def test_the_same_sentences_in_another_order_are_a_near_duplicate() -> None:
    sentences = ORIGINAL.split("。")
    reordered = "。".join([sentences[1], sentences[0], *sentences[2:]])
    result = find_duplicates(title="", body=ORIGINAL, compare_with=[reordered], include_posts=False)
    assert result.findings


def test_a_different_post_on_a_similar_subject_stays_below_the_threshold() -> None:
    result = find_duplicates(title="", body=ORIGINAL, compare_with=[UNRELATED], include_posts=False)
    assert result.findings == ()
    assert result.max_similarity < 0.5


def test_a_recent_post_of_another_persona_is_named_as_the_closest() -> None:
    other = PostFactory.create(kol=KOLFactory.create(), title="台積電盤後", body=SIMPLIFIED_NEW_NUMBERS)
    PostFactory.create(title="長榮觀察", body=UNRELATED)
    report = draft_check(title="台積電盤後", body=ORIGINAL)
    (finding,) = [f for f in report.findings if f.code.startswith("duplicate.")]
    assert finding.code == "duplicate.near_duplicate_post"
    assert finding.detail["post_id"] == str(other.pk)
    assert "台積電盤後" in finding.message and str(other.pk) in finding.message
    assert report.closest_post_id == str(other.pk)
    assert report.risk_level == "high"


def test_a_post_is_not_its_own_duplicate_and_old_posts_are_outside_the_window() -> None:
    own = PostFactory.create(body=ORIGINAL)
    old = PostFactory.create(body=ORIGINAL)
    Post.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=15))
    report = draft_check(title=own.title, body=own.body, exclude_post_id=own.pk)
    assert not [f for f in report.findings if f.code.startswith("duplicate.")]


def test_the_window_and_threshold_come_from_settings(settings: Any) -> None:
    old = PostFactory.create(body=ORIGINAL)
    Post.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=15))
    settings.DUPLICATE_WINDOW_DAYS = 30
    assert find_duplicates(title="", body=ORIGINAL).findings
    settings.DUPLICATE_THRESHOLD = 1.0
    assert not find_duplicates(title="", body=UNRELATED).findings


def test_an_edited_post_is_compared_in_its_new_version() -> None:
    post = PostFactory.create(body=UNRELATED)
    assert not find_duplicates(title="", body=ORIGINAL).findings
    Post.objects.filter(pk=post.pk).update(body=ORIGINAL, version=post.version + 1)
    assert find_duplicates(title="", body=ORIGINAL).findings


def test_texts_that_cannot_reach_the_threshold_are_not_scored() -> None:
    PostFactory.create_batch(30, body="很短的貼文。")
    PostFactory.create(body=SIMPLIFIED_NEW_NUMBERS)
    result = find_duplicates(title="", body=ORIGINAL)
    assert result.compared == 31
    assert result.scored == 1
    assert result.findings
