"""The analyses on hand-computed fixtures: the exact top 20%, lifts, intervals, shrinkage, medians."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from analytics.analysis.boards import best_times, daily_trend, leaderboard
from analytics.analysis.learning import learning_lift
from analytics.analysis.scope import Scope
from analytics.analysis.stats import Moments, relative_risk, shrink, wilson
from analytics.analysis.suggestions import suggestion_sentence, suggestions
from analytics.analysis.top import top_features
from tests.analytics.analysis_support import DAY, PUBLISHED, a_kol, scored

pytestmark = pytest.mark.django_db

SCOPE = Scope(start=DAY - dt.timedelta(days=6), end=DAY)


def _value(result: dict[str, Any], feature: str, value: object) -> dict[str, Any]:
    return next(row for row in result["values"] if row["feature"] == feature and row["value"] == value)


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert wilson(0, 10)[0] == 0 and round(wilson(0, 10)[1], 4) == 0.2775


def test_relative_risk_and_its_katz_interval_by_hand() -> None:
    ratio = relative_risk(3, 8, 1, 12)
    se = math.sqrt(1 / 3 - 1 / 8 + 1 / 1 - 1 / 12)
    assert ratio.lift == pytest.approx(4.5 - 1)
    assert ratio.low == pytest.approx(math.exp(math.log(4.5) - 1.959964 * se) - 1, rel=1e-5)
    assert ratio.high == pytest.approx(math.exp(math.log(4.5) + 1.959964 * se) - 1, rel=1e-5)


def test_the_top_is_exactly_the_best_fifth_and_lifts_come_with_counts_and_intervals() -> None:
    # Scores 1..20: the top 20% is the four posts scored 17-20.
    question = {20, 19, 18, 5, 4, 3, 2, 1}
    for score in range(1, 21):
        scored(score, ends_with_question=score in question)

    result = top_features(scope=SCOPE, min_posts=5)
    row = _value(result, "ends_with_question", True)

    assert (result["posts"], result["top_count"], result["threshold"]) == (20, 4, 17.0)
    assert (row["posts"], row["top"], row["rest"]) == (8, 3, 5)
    assert row["share_top"] == pytest.approx(3 / 4)
    assert row["share_rest"] == pytest.approx(5 / 16)
    assert row["share_top_interval"] == pytest.approx(list(wilson(3, 4)))
    expected = relative_risk(3, 8, 1, 12)
    assert row["lift"] == pytest.approx(3.5)
    assert row["lift_interval"] == pytest.approx([expected.low, expected.high])
    # Tested values: question yes/no, kol x20 below minimum, persona/hour/weekday have no complement.
    assert row["enough_data"] is True


def test_ties_at_the_threshold_still_give_exactly_a_fifth() -> None:
    for _ in range(10):
        scored(5.0)

    result = top_features(scope=SCOPE, min_posts=2)
    persona = _value(result, "persona", "technical")

    assert result["top_count"] == 2
    assert persona["top"] == 2


def test_a_value_below_the_minimum_is_not_enough_data_never_a_finding() -> None:
    for score in range(1, 41):
        scored(score, ends_with_question=score > 36)  # 4 posts, all in the top

    result = top_features(scope=SCOPE, min_posts=20)
    row = _value(result, "ends_with_question", True)

    assert row["enough_data"] is False
    assert row["significant"] is False and row["lift"] is None
    assert suggestions(result) == []


def test_a_strong_driver_is_a_finding_and_a_balanced_feature_is_not() -> None:
    for score in range(1, 101):
        scored(score, ends_with_question=score > 60, has_news=score % 2 == 0)

    result = top_features(scope=SCOPE, min_posts=20)

    assert _value(result, "ends_with_question", True)["significant"] is True
    assert _value(result, "has_news", True)["significant"] is False
    assert result["tests"] == 4  # question yes/no, news yes/no


def test_demo_dry_run_and_late_scores_are_left_out_unless_asked() -> None:
    scored(1)
    scored(2, is_demo=True)
    scored(3, dry_run=True)
    scored(4, score_late=True)

    assert top_features(scope=SCOPE)["posts"] == 1
    everything = Scope(SCOPE.start, SCOPE.end, include_demo=True, include_dry_run=True, include_late=True)
    assert top_features(scope=everything)["posts"] == 4


def test_a_suggestion_carries_the_numbers_of_its_finding() -> None:
    row = {
        "feature": "ends_with_question",
        "value": True,
        "value_label": "Yes",
        "posts": 120,
        "lift": 0.35,
        "lift_interval": [0.18, 0.52],
    }
    assert suggestion_sentence(row) == (
        "以問句結尾的貼文進入 24 小時互動分數前 20% 的機會高 35%（n=120，95% 區間 18–52%）"
    )
    assert "低 20%" in suggestion_sentence({**row, "lift": -0.2, "lift_interval": [-0.3, -0.1]})


def test_empirical_bayes_shrinkage_by_hand() -> None:
    cells = [Moments.from_sums(2, 22, 100 + 144), Moments.from_sums(4, 8, 1 + 9 + 1 + 9)]
    overall, (a, b) = shrink(cells)
    # overall 5; sigma² = (2 + 3·4/3)/4 = 1.5; between = (2·36 + 4·9)/6 = 18; tau² = 18 - 1.5·2/6 = 17.5
    assert overall == pytest.approx(5)
    assert a == pytest.approx(5 + 6 * 17.5 / (17.5 + 1.5 / 2))
    assert b == pytest.approx(5 - 3 * 17.5 / (17.5 + 1.5 / 4))


def test_best_times_shrink_a_cell_of_few_posts_toward_the_overall_mean() -> None:
    monday_nine = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 Taipei
    for score in (10, 12, 11, 9, 10, 11, 10, 12, 9, 11):
        scored(score, published_at=monday_nine)
    scored(100, published_at=PUBLISHED)  # one lucky post, Wednesday 20:00

    result = best_times(scope=SCOPE)
    cells = {(cell["weekday"], cell["hour"]): cell for cell in result["cells"]}

    assert len(result["cells"]) == 7 * 24
    assert cells[(2, 20)]["posts"] == 1 and cells[(2, 20)]["mean"] == 100
    assert cells[(2, 20)]["shrunk"] < 100
    assert cells[(0, 9)]["posts"] == 10


def test_leaderboard_ranks_kols_by_median_score() -> None:
    first, second = a_kol(nickname="甲"), a_kol(nickname="乙")
    for score in (1, 2, 10):
        scored(score, kol=first)
    for score in (5, 6):
        scored(score, kol=second)

    result = leaderboard(scope=SCOPE)

    assert [(entry["name"], entry["median"], entry["posts"]) for entry in result["entries"]] == [
        ("乙", 5.5, 2),
        ("甲", 2.0, 3),
    ]
    assert result["entries"][0]["approval_rate"] == 1.0
    assert {row["posts"] for row in result["weeks"]} == {2, 3}


def test_daily_trend_counts_posts_by_published_day() -> None:
    scored(4)
    scored(6)
    assert daily_trend(scope=SCOPE)["days"] == [{"day": "2026-03-04", "posts": 2, "mean": 5.0}]


def test_learning_lift_by_hand_and_not_enough_data_said_plainly() -> None:
    kol = a_kol()
    for score in (4, 6, 8):
        scored(score, kol=kol, playbook_group="guided", playbook_version=1)
    for score in (3, 5, 4):
        scored(score, kol=kol, playbook_group="control", playbook_version=1)

    result = learning_lift(scope=SCOPE, min_posts=3)
    overall = result["overall"]
    se = math.sqrt(4 / (3 * 36) + 1 / (3 * 16))

    assert (overall["guided_posts"], overall["control_posts"]) == (3, 3)
    assert overall["lift"] == pytest.approx(0.5)
    assert overall["interval"] == pytest.approx(
        [math.exp(math.log(1.5) - 1.959964 * se) - 1, math.exp(math.log(1.5) + 1.959964 * se) - 1], rel=1e-5
    )
    assert result["kols"][0]["kol_id"] == kol.pk
    strict = learning_lift(scope=SCOPE, min_posts=20)["overall"]
    assert strict["enough_data"] is False and strict["lift"] is None and strict["helps"] is False
