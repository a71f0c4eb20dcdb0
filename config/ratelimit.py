"""A GCRA token bucket in Redis, shared by the publishing pace (posting/publishing/pace.py) and the read
pace (analytics/pace.py): each keeps its own keys and settings, so reads never delay a publish.

GCRA: allow when the theoretical arrival time is at most (burst - 1) intervals ahead of now. The script
runs in Redis with Redis' own clock, so every worker shares one bucket per key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

GCRA_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then
  return tostring(tat - tolerance - now)
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return '0'
"""


@lru_cache(maxsize=4)
def gcra_script(url: str) -> Any:
    """The registered script for the Redis at ``url``: call it with keys=[key], args=[interval, tolerance];
    it answers "0" when a token was taken, else the seconds until one is free."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return client.register_script(GCRA_SCRIPT)
