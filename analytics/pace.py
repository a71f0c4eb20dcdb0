"""The read pace: reads per minute per platform, separate from the publishing pace.

A GCRA token bucket (INTERACTION_READ_RATE_PER_MINUTE, burst INTERACTION_READ_BURST) in Redis under its
own key (``kolstudio:read:rate:<platform>``), so reads and publishes never wait for one another. Without
Redis the bucket lives in this process only (enough for one worker; say so in the README).
"""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache
from typing import Any

from django.conf import settings

from config.ratelimit import gcra_script

logger = logging.getLogger(__name__)


_local_lock = threading.Lock()
_local_tat: dict[str, float] = {}


def read_key(platform: str) -> str:
    return f"kolstudio:read:rate:{platform}"


def _interval_and_tolerance() -> tuple[float, float]:
    interval = 60.0 / settings.INTERACTION_READ_RATE_PER_MINUTE
    return interval, interval * (settings.INTERACTION_READ_BURST - 1)


def read_wait(*, platform: str) -> float:
    """Take one read from the platform's bucket: 0.0 when taken, else the seconds until one is free."""
    interval, tolerance = _interval_and_tolerance()
    if not settings.REDIS_URL:
        return _local_wait(platform, interval, tolerance)
    import redis

    try:
        answer = gcra_script(settings.REDIS_URL)(
            keys=[read_key(platform)], args=[repr(interval), repr(tolerance)]
        )
    except redis.RedisError:
        logger.warning("The read pace bucket in Redis is unreachable; waiting", exc_info=True)
        return max(interval, 5.0)
    return float(answer)


def _local_wait(platform: str, interval: float, tolerance: float) -> float:
    with _local_lock:
        now = time.monotonic()
        tat = max(_local_tat.get(platform, now), now)
        if tat - now > tolerance:
            return tat - tolerance - now
        _local_tat[platform] = tat + interval
    return 0.0


def read_take(*, platform: str, deadline: float) -> bool:
    """Wait for a read of ``platform`` until ``deadline`` (time.monotonic()); False when time ran out."""
    while True:
        wait = read_wait(platform=platform)
        if wait <= 0:
            return True
        if time.monotonic() + wait > deadline:
            return False
        time.sleep(wait)


_PAUSE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < until_ then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil((until_ - now) * 1000) + 1000)
end
return '0'
"""


@lru_cache(maxsize=2)
def _pause_script(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return client.register_script(_PAUSE)


def read_pause(*, platform: str, seconds: float) -> None:
    """The platform said "slow down" (429 Retry-After): no read of it goes out for ``seconds``, from any worker."""
    if not settings.REDIS_URL:
        with _local_lock:
            now = time.monotonic()
            _local_tat[platform] = max(_local_tat.get(platform, now), now + seconds)
        return
    import redis

    try:
        _pause_script(settings.REDIS_URL)(keys=[read_key(platform)], args=[repr(float(seconds))])
    except redis.RedisError:
        logger.warning("Could not pause the read pace in Redis", exc_info=True)


def read_reset(*, platform: str) -> None:
    """Forget the bucket (tests and benchmarks start from a full one)."""
    _local_tat.pop(platform, None)
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).delete(read_key(platform))
