"""Builders for the interaction tests: posts published for real (or as a dry run), CMoney answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from kols.models import PlatformAccount
from posting.models import Backend, Post, Publication, PublicationStatus
from tests.factories import KOLFactory, PlatformAccountFactory, PostFactory

FORUM = "https://forum.test"
IDENTITY = "https://identity.test"

_article_ids = iter(range(174457156, 10**9))


def published_post(
    *,
    at: dt.datetime | None = None,
    backend: str = Backend.CMONEY,
    account: PlatformAccount | None = None,
    **post: Any,
) -> Post:
    """A post published at ``at`` through ``backend`` (a dry run records no platform id)."""
    at = at or timezone.now()
    if account is None:
        account = PlatformAccountFactory.create(kol=post.pop("kol", None) or KOLFactory.create())
    article_id = "" if backend == Backend.DRY_RUN else str(next(_article_ids))
    created = PostFactory.create(
        kol=account.kol,
        status=Post.Status.PUBLISHED,
        approved_at=at,
        approved_version=1,
        published_at=at,
        platform_post_id=article_id,
        **post,
    )
    Publication.objects.create(
        post=created,
        account=account,
        backend=backend,
        status=PublicationStatus.PUBLISHED,
        post_version=1,
        claimed_at=at,
        finished_at=at,
        platform_post_id=article_id,
    )
    return created


def cmoney_settings(settings: Any) -> None:
    settings.CMONEY_FORUM_BASE_URL = FORUM
    settings.CMONEY_IDENTITY_BASE_URL = IDENTITY
    settings.INTERACTION_READ_RATE_PER_MINUTE = 60_000
    settings.INTERACTION_READ_BURST = 1_000
    settings.REDIS_URL = ""
    # The in-process read bucket starts full (a 429 in an earlier test may have paused it).
    from analytics.pace import read_reset

    for platform in ("cmoney", "webhook"):
        read_reset(platform=platform)


def article(**overrides: Any) -> dict[str, Any]:
    """An article answer in the documented V2 shape (PLATFORMS.md), without @hash-shared."""
    body: dict[str, Any] = {
        "content": {"title": "台積電觀察", "text": "……", "commodityTags": [], "publishTime": 1764900000},
        "creatorId": 9001,
        "createTime": 1764900000,
        "modifyTime": 1764900000,
        "emojiCount": {
            "like": 12,
            "dislike": 1,
            "laugh": 0,
            "money": 3,
            "shock": 0,
            "cry": 0,
            "think": 2,
            "angry": 0,
        },
        "commentCount": 4,
        "collectedCount": 5,
        "donation": 7,
        "interestedCount": 2,
    }
    body.update(overrides)
    return body


TOKEN = {"access_token": "tok-1", "expires_in": 3600, "refresh_token": "r", "token_type": "Bearer"}
