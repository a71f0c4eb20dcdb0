from __future__ import annotations

import pytest

from posting.checks import draft_check
from posting.checks.quality import machine_text_score, quality_score
from tests.factories import KOLFactory

pytestmark = pytest.mark.django_db

MACHINE_LIKE = (
    "總的來說，台積電今日表現相當穩健。值得注意的是，外資今日持續買超該股。"
    "此外，成交量也較前一日明顯放大。綜上所述，短線走勢仍偏向樂觀看待。"
    "讓我們一起持續關注後續的發展。總而言之，投資人應保持謹慎樂觀。"
)
HUMAN_LIKE = (
    "早上開盤就被摜下來，最低摸到178.5，我還以為要破底。結果尾盤拉回。\n"
    "量不大。運價回落大家都知道，但現金部位還是很厚，我自己不會在這裡追，也不急著砍，"
    "反正配息前應該還有一波整理，等財報出來再看要不要加。\n你們怎麼看？"
)


def test_stock_phrases_and_even_sentences_score_more_machine_like_than_varied_prose() -> None:
    machine, machine_parts = machine_text_score(body=MACHINE_LIKE)
    human, human_parts = machine_text_score(body=HUMAN_LIKE)
    assert machine > human + 0.3
    assert machine_parts["stock_phrases"].value == 1.0
    assert human_parts["stock_phrases"].value == 0.0
    assert (machine_parts["uniformity"].value or 0) > (human_parts["uniformity"].value or 0)
    assert "總的來說" in machine_parts["stock_phrases"].detail


def test_repeated_sequences_and_markdown_raise_the_machine_score() -> None:
    repeated = "台積電的基本面很好，台積電的基本面很好，台積電的基本面很好，台積電的基本面很好。"
    _score, parts = machine_text_score(body=repeated)
    assert parts["repetition"].value == 1.0
    _score, parts = machine_text_score(body="## 重點整理\n- **營收**成長\n- 毛利率提升\n- 展望樂觀")
    assert parts["markdown"].value == 1.0


def test_each_breakdown_gives_value_and_weight_and_measured_weights_sum_to_one() -> None:
    report = draft_check(title="長榮今天怎麼了", body=HUMAN_LIKE, include_recent_posts=False)
    for breakdown in (report.quality_breakdown, report.machine_text_breakdown):
        assert sum(part.weight for part in breakdown.values()) == pytest.approx(1.0, abs=1e-3)
        for part in breakdown.values():
            assert part.value is None or 0 <= part.value <= 1
            assert part.weight == 0 or part.value is not None
    assert set(report.quality_breakdown) == {"length", "title", "grounding", "persona", "human_voice"}
    assert set(report.machine_text_breakdown) == {"stock_phrases", "uniformity", "repetition", "markdown"}
    assert report.to_dict()["quality_breakdown"]["length"]["weight"] > 0


def test_machine_like_text_lowers_quality() -> None:
    machine = draft_check(title="台積電盤後觀察", body=MACHINE_LIKE, include_recent_posts=False)
    human = draft_check(title="長榮今天怎麼了", body=HUMAN_LIKE, include_recent_posts=False)
    assert machine.quality_score < human.quality_score


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        ("漲", "characters"),
        ("台積電這次真的要起飛了嗎!!!", "clickbait"),
        ("震驚！台積電大漲", "clickbait"),
        ("早上開盤就被摜下來", "first words"),
    ],
)
def test_title_rules_deduct_with_a_reason(title: str, reason: str) -> None:
    report = draft_check(title=title, body=HUMAN_LIKE, include_recent_posts=False)
    part = report.quality_breakdown["title"]
    assert part.value is not None and part.value < 1
    assert reason in part.detail


def test_length_outside_the_post_types_band_scores_lower() -> None:
    inside = draft_check(
        title="長榮今天怎麼了", body=HUMAN_LIKE, post_type="question", include_recent_posts=False
    )
    too_short = draft_check(
        title="長榮今天怎麼了", body=HUMAN_LIKE, post_type="analysis", include_recent_posts=False
    )
    assert inside.quality_breakdown["length"].value == 1.0
    assert (too_short.quality_breakdown["length"].value or 0) < 1.0
    assert "analysis" in too_short.quality_breakdown["length"].detail


def test_persona_markers_count_when_a_kol_is_given() -> None:
    kol = KOLFactory.create(signature="—— 阿明看盤", common_phrases=["老實說", "穩穩來"])
    signed = HUMAN_LIKE + "老實說我也不確定。\n—— 阿明看盤"
    with_markers = quality_score(
        title="長榮",
        body=signed,
        post_type="",
        grounding_ratio=None,
        grounding_checked=False,
        figures_counted=0,
        kol=kol,
        machine_score=0.0,
    )
    without = quality_score(
        title="長榮",
        body=HUMAN_LIKE,
        post_type="",
        grounding_ratio=None,
        grounding_checked=False,
        figures_counted=0,
        kol=kol,
        machine_score=0.0,
    )
    assert with_markers[1]["persona"].value == 1.0
    assert without[1]["persona"].value == 0.0
    assert with_markers[0] > without[0]


def test_persona_is_not_measured_without_a_kol_or_markers() -> None:
    report = draft_check(title="長榮今天怎麼了", body=HUMAN_LIKE, include_recent_posts=False)
    assert report.quality_breakdown["persona"].value is None
    assert report.quality_breakdown["persona"].weight == 0
    bare = draft_check(
        title="長榮今天怎麼了",
        body=HUMAN_LIKE,
        kol=KOLFactory.create(signature="", common_phrases=[]),
        include_recent_posts=False,
    )
    assert bare.quality_breakdown["persona"].value is None
