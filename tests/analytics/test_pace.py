"""The read pace: its own bucket per platform, apart from the publishing pace."""

from __future__ import annotations

from typing import Any

import pytest

from analytics.pace import read_key, read_reset, read_wait
from posting.publishing.pace import platform_key, platform_wait


def test_the_read_bucket_lets_the_burst_through_then_says_how_long_to_wait(settings: Any) -> None:
    settings.REDIS_URL = ""
    settings.INTERACTION_READ_RATE_PER_MINUTE = 60
    settings.INTERACTION_READ_BURST = 2
    read_reset(platform="webhook")

    assert [read_wait(platform="webhook") for _ in range(2)] == [0.0, 0.0]
    assert 0.5 < read_wait(platform="webhook") <= 1.0


@pytest.mark.redis
@pytest.mark.django_db
def test_reads_use_their_own_redis_key_and_never_take_from_the_publishing_bucket(settings: Any) -> None:
    import redis

    settings.INTERACTION_READ_RATE_PER_MINUTE = 1
    settings.INTERACTION_READ_BURST = 1
    settings.PUBLISH_PLATFORM_RATE_PER_MINUTE = 1
    settings.PUBLISH_PLATFORM_BURST = 1
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(platform_key("webhook"))
    read_reset(platform="webhook")
    assert read_key("webhook") != platform_key("webhook")

    assert read_wait(platform="webhook") == 0.0
    assert read_wait(platform="webhook") > 50  # the read bucket is empty for a minute ...
    from django.utils import timezone

    assert platform_wait(backend="webhook", now=timezone.now()) == 0.0  # ... and a publish still goes
    client.delete(platform_key("webhook"))
    read_reset(platform="webhook")
