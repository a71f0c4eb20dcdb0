"""Scored posts for the analysis tests: a Post and its PostFeatures row, written directly."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.utils import timezone

from analytics.models import PostFeatures
from kols.models import KOL
from posting.models import Post
from tests.factories import KOLFactory, PostFactory

# A Wednesday, 20:30 in Taipei.
PUBLISHED = dt.datetime(2026, 3, 4, 12, 30, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 4)


def a_kol(**fields: Any) -> KOL:
    return cast(KOL, KOLFactory(**fields))


def scored(
    score: float, *, kol: KOL | None = None, published_at: dt.datetime = PUBLISHED, **features: Any
) -> PostFeatures:
    kol = kol or a_kol()
    post = PostFactory(
        kol=kol,
        status=Post.Status.PUBLISHED,
        approved_at=published_at,
        published_at=published_at,
        score_24h=score,
    )
    # Written two hours before it was published (created_at is auto_now_add).
    Post.objects.filter(pk=post.pk).update(created_at=published_at - dt.timedelta(hours=2))
    local = timezone.localtime(published_at, dt.timezone(dt.timedelta(hours=8)))
    values: dict[str, Any] = {
        "post": post,
        "kol": kol,
        "persona": kol.persona,
        "hour": local.hour,
        "weekday": local.weekday(),
        "published_at": published_at,
        "published_day": local.date(),
        "score": score,
    }
    values.update(features)
    return PostFeatures.objects.create(**values)
