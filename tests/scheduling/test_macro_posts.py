"""Macro (topic) posts end to end: the macro trigger picks a topic, a batch writes the draft from the topic's
news and the market's breadth, it passes the checks, an editor approves it and it is published on the fake
CMoney, attached to a community topic and without stock tags."""

from __future__ import annotations

from typing import Any, cast

import pytest

from kols.models import KOL
from posting.generation.batches import batch_create, batch_wake
from posting.generation.runner import batch_run
from posting.models import Post
from posting.models import PublicationStatus as S
from posting.review.services import post_approve
from scheduling.triggers import trigger_evaluate
from tests.factories import KOLFactory, NewsItemFactory, PlatformAccountFactory, default_compliance_rules
from tests.posting.batch_setup import prompt_templates_seed, stock_with_quotes
from tests.posting.fake_platform import FakePlatform
from tests.posting.publishing_support import EDITOR, platform, platform_configured, send_now  # noqa: F401

pytestmark = pytest.mark.usefixtures("transactional_db", "platform_configured")


def test_a_macro_topic_becomes_a_published_post_without_a_stock(platform: FakePlatform) -> None:  # noqa: F811
    prompt_templates_seed()
    default_compliance_rules()
    stock_with_quotes("2330")
    NewsItemFactory(title="央行升息半碼 市場關注升息循環", snippet="升息循環可能延續到明年")
    kol = cast(KOL, KOLFactory(dry_run=False, max_posts_per_hour=20, max_posts_per_day=20))
    PlatformAccountFactory(kol=kol)

    result = trigger_evaluate(trigger_type="macro", config={"topics": ["升息"], "window_hours": 24})
    [candidate] = result.candidates
    assert candidate.stock is None and candidate.topic == "升息"
    item: dict[str, Any] = {
        "kol_id": kol.pk,
        "topic": candidate.topic,
        "topic_id": "8f2c-topic",
        "trigger_type": "macro",
        "trigger_key": candidate.key,
        "trigger_reasons": [candidate.summary],
    }
    batch = batch_create(source="manual", items=[item], post_type="analysis", writer="template")
    token = batch_wake(batch_id=batch.pk)
    assert token is not None
    batch_run(batch_id=batch.pk, token=token)

    post = Post.objects.get(batch=batch)
    assert post.status == Post.Status.PENDING_REVIEW and post.stock is None
    assert post.topic_title == "升息" and post.topic_id == "8f2c-topic"
    assert not post.has_blocking_finding, post.check_findings
    approved = post_approve(post=post, by=EDITOR)
    publication = send_now(approved)
    assert publication.status == S.PUBLISHED
    [article] = platform.articles
    assert article.commodity_tags == [] and article.topic == {"id": "8f2c-topic"}
    assert "升息" in article.title and "央行升息半碼" in article.text
