"""Builders shared by the publishing tests (tests/posting/test_publishing_*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kols.crypto import Secret
from posting.lifecycle.transitions import Actor
from posting.models import Post, Publication
from posting.publishing.outbox import publication_publish_now, publication_send
from posting.review.services import post_approve, post_create_draft, post_run_checks
from tests.factories import KOLFactory, PlatformAccountFactory, StockFactory
from tests.posting.fake_platform import FakePlatform

EDITOR = Actor(label="test-editor")


def configure(settings: Any, platform: FakePlatform) -> None:
    """Point CMoney at the fake platform, with no pace to wait for (the pace has its own tests)."""
    platform.reset()
    settings.CMONEY_IDENTITY_BASE_URL = platform.url
    settings.CMONEY_FORUM_BASE_URL = platform.url
    settings.CMONEY_TIMEOUT_SECONDS = 1.0
    settings.PUBLISH_MIN_GAP_SECONDS = 0
    settings.PUBLISH_JITTER_SECONDS = 0
    settings.PUBLISH_PLATFORM_RATE_PER_MINUTE = 60_000
    settings.PUBLISH_PLATFORM_BURST = 1_000
    # The platform-wide bucket in the database here; test_publishing_pace.py covers the Redis one.
    settings.REDIS_URL = ""


def approved_post(
    *, dry_run: bool = False, account: bool = True, credentials: bool = True, **post: Any
) -> Post:
    kol = KOLFactory(dry_run=dry_run, max_posts_per_hour=20, max_posts_per_day=20)
    if account:
        fields = {} if credentials else {"login": Secret(""), "password": Secret("")}
        PlatformAccountFactory(kol=kol, **fields)
    draft = post_create_draft(
        kol=kol,
        stock=StockFactory(code="2330", name="台積電"),
        title=post.pop("title", f"台積電觀察 {kol.pk}"),
        body=post.pop("body", "今天收盤104元，投資有風險。"),
        **post,
    )
    return post_approve(post=post_run_checks(post=draft), by=EDITOR)


def send_now(post: Post) -> Publication:
    """Publish now and run the publish task's service in this process."""
    publication = publication_publish_now(post=post, by=EDITOR)
    publication_send(publication_id=publication.pk)
    publication.refresh_from_db()
    return publication


@pytest.fixture(scope="module")
def platform() -> Iterator[FakePlatform]:
    """One local fake CMoney per test module (real HTTP on 127.0.0.1)."""
    server = FakePlatform().start()
    yield server
    server.stop()


@pytest.fixture
def platform_configured(settings: Any, platform: FakePlatform) -> None:
    """Settings pointing the CMoney client at the fake platform."""
    configure(settings, platform)
