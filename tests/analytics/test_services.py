"""Feature rows from real posts, the daily refresh, editor effort and the weekly playbook proposal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from analytics.analysis.effort import editor_effort
from analytics.analysis.scope import Scope
from analytics.analysis.selectors import analysis_read
from analytics.analysis.services import analyses_refresh, playbooks_propose
from analytics.features import (
    edit_bucket,
    emoji_bucket,
    ends_with_question,
    length_bucket,
    market_cap_bucket,
    post_features_refresh,
)
from analytics.models import AnalysisResult, PostFeatures
from kols.models import Playbook
from posting.models import Approval, AuditEvent, Post, PostRevision
from posting.review.services import post_create_draft
from tests.analytics.analysis_support import DAY, PUBLISHED, a_kol, scored
from tests.factories import GenerationBatchFactory, PublicationFactory, StockFactory

pytestmark = pytest.mark.django_db

SCOPE = Scope(start=DAY - dt.timedelta(days=6), end=DAY)


def test_buckets_for_lengths_emoji_questions_edits_and_market_cap() -> None:
    assert [length_bucket(n, (15, 30)) for n in (3, 15, 29, 30)] == ["<15", "15-29", "15-29", "30+"]
    assert [emoji_bucket(text) for text in ("無", "好📈", "📈🚀🔥")] == ["0", "1-2", "3+"]
    assert ends_with_question("大家怎麼看？\n—阿明", "—阿明") is True
    assert ends_with_question("就這樣。", "") is False
    assert [edit_bucket(d) for d in (None, 0, 5, 50, 500)] == ["", "none", "light", "medium", "heavy"]
    # 25億 shares x 1000 TWD = 25,000億: large; 1億 shares x 50 = 50億: small.
    assert market_cap_bucket(2_500_000_000, {"quote": {"close": "1000.00"}}) == "large"
    assert market_cap_bucket(100_000_000, {"quote": {"close": "50"}}) == "small"
    assert market_cap_bucket(None, {"quote": {"close": "50"}}) == ""


def _published_post(**fields: Any) -> Post:
    kol = a_kol(signature="—阿明")
    stock = StockFactory(industry="半導體業", issued_shares=25_000_000_000)
    batch = GenerationBatchFactory(post_type="question")
    post = post_create_draft(
        kol=kol,
        stock=stock,
        batch=batch,
        title="台積電站上千元",
        body="量能放大，大家怎麼看？📈\n—阿明",
        commodity_tags=[{"type": "Stock", "key": stock.code, "bullOrBear": 1}],
        market_snapshot={"quote": {"close": "1000.00"}, "news": [{"title": "法說會"}]},
        prompt_version="question-v1",
        llm_model="test-model",
        **fields,
    )
    PostRevision.objects.create(
        post=post, version=2, title=post.title, body="量能放大，大家怎麼看？📈🚀\n—阿明", source="edit"
    )
    Post.objects.filter(pk=post.pk).update(
        status=Post.Status.PUBLISHED,
        approved_at=PUBLISHED,
        approved_version=2,
        published_at=PUBLISHED,
        score_24h=42,
        version=2,
    )
    return Post.objects.get(pk=post.pk)


def test_a_published_scored_post_gets_its_features_once() -> None:
    post = _published_post()

    assert post_features_refresh() == 1
    row = PostFeatures.objects.get(post=post)
    assert (row.hour, row.weekday, str(row.published_day)) == (20, 2, "2026-03-04")
    assert (row.post_type, row.industry, row.market_cap, row.stance) == (
        "question",
        "半導體業",
        "large",
        "bull",
    )
    assert (row.ends_with_question, row.emoji, row.has_news) == (True, "1-2", True)
    assert (row.edit_distance, row.edited) == (1, "light")
    assert row.score == 42 and row.dry_run is False
    assert post_features_refresh() == 0

    Post.objects.filter(pk=post.pk).update(score_24h=50)
    assert post_features_refresh() == 1
    assert PostFeatures.objects.get(post=post).score == 50


def test_a_dry_run_post_is_marked_and_left_out_of_the_analyses() -> None:
    post = _published_post()
    PublicationFactory(post=post, backend="dry_run")

    post_features_refresh()

    assert PostFeatures.objects.get(post=post).dry_run is True
    assert analysis_read(kind="top_features", scope=SCOPE)["posts"] == 0


@time_machine.travel(dt.datetime(2026, 3, 5, 0, 0, tzinfo=dt.UTC), tick=False)
def test_the_daily_refresh_stores_every_analysis_and_pages_read_it() -> None:
    _published_post()

    outcome = analyses_refresh()
    stored = analysis_read(kind="top_features", scope=Scope.default())

    assert outcome["features_written"] == 1
    assert set(AnalysisResult.objects.values_list("kind", flat=True)) == {
        "top_features",
        "best_times",
        "leaderboard",
        "persona_leaderboard",
        "daily_trend",
        "editor_effort",
        "learning_lift",
    }
    assert stored["stored"] is True and stored["posts"] == 1


def test_editor_effort_times_reasons_edits_and_throughput() -> None:
    reviewer = User.objects.create_user("amy")
    first = scored(10, persona="technical", edit_distance=0, prompt_version="a-v1", llm_model="m")
    second = scored(20, persona="technical", edit_distance=30, prompt_version="a-v1", llm_model="m")
    for row, hours in ((first, 1), (second, 3)):
        Post.objects.filter(pk=row.post_id).update(created_at=PUBLISHED - dt.timedelta(hours=hours))
        Approval.objects.create(post_id=row.post_id, version=1, approved_by=reviewer, approved_at=PUBLISHED)
    for note in ("數字錯誤", "數字錯誤", "太像廣告"):
        event = AuditEvent.objects.create(post_id=first.post_id, action="request_changes", note=note)
        AuditEvent.objects.filter(pk=event.pk).update(created_at=PUBLISHED)

    result = editor_effort(scope=SCOPE)

    assert result["time_to_approval"] == {"approved": 2, "mean_hours": 2.0, "median_hours": 2.0}
    assert result["reasons"][0] == {"action": "request_changes", "reason": "數字錯誤", "count": 2}
    assert result["share_unedited"] == 0.5
    assert result["edits_by"]["persona"] == [
        {"key": "technical", "posts": 2, "mean_edit_distance": 15.0, "share_unedited": 0.5}
    ]
    assert result["throughput"] == [{"reviewer": "amy", "approvals": 2, "per_day": 2 / 7}]


@time_machine.travel(dt.datetime(2026, 3, 5, 0, 0, tzinfo=dt.UTC), tick=False)
def test_a_playbook_is_proposed_from_significant_findings_only(settings: Any) -> None:
    settings.ANALYTICS_MIN_POSTS = 20
    kol, quiet = a_kol(), a_kol()
    for score in range(1, 101):
        scored(score, kol=kol, ends_with_question=score > 60, has_news=score % 2 == 0)
    for score in range(1, 6):
        scored(score, kol=quiet)

    outcome = playbooks_propose()

    playbook = Playbook.objects.get(kol=kol)
    assert outcome == {"proposed": 1, "skipped": 1}
    assert playbook.status == Playbook.Status.PROPOSED and playbook.version == 1
    assert any(line.startswith("以問句結尾的貼文") and "n=40" in line for line in playbook.lines), (
        playbook.lines
    )
    assert not any("新聞" in line for line in playbook.lines)
    assert not Playbook.objects.filter(kol=quiet).exists()
    assert playbooks_propose()["proposed"] == 0  # nothing new to say: no new version
