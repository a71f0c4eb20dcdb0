"""Commodity tags and topic attachment for a forum post.

CMoney's article body takes ``commodityTags: [{"type": "Stock", "key": "2330", "bullOrBear": 0}]`` with
the *bare* stock code, plus an optional market tag ``{"type": "Market", "key": "TWA00"}``.

``bullOrBear`` follows the platform's own enum (CMoney's public Android SDK, ``forumocean`` module,
``BullOrBearInfo``: Bull = 1, Bear = -1, None = 0). The post's stance sets it for the post's primary
stock only (the first code): mentioning another stock in passing is not a call on it, so every other
stock tag is 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from config.exceptions import ServiceError

# 4-digit shares, 5-6 digit ETFs and warrants, an optional letter for preferred shares / leveraged ETFs
# ("2881A", "00631L").
_STOCK_CODE = re.compile(r"^[0-9]{4,6}[A-Z]?$")
# Longest first: stripping ".TW" from "5227.TWO" is how the prior system produced the key "5227O".
_EXCHANGE_SUFFIXES = (".TWO", ".TW")

STANCES = ("bullish", "bearish", "neutral")
BULL_OR_BEAR = {"bullish": 1, "bearish": -1, "neutral": 0}
MARKET_TAG: dict[str, Any] = {"type": "Market", "key": "TWA00"}


class TagError(ServiceError):
    code = "invalid_tag"


def bare_stock_code(raw: str) -> str:
    """``"2330.TW"`` -> ``"2330"``, ``"5227.TWO"`` -> ``"5227"``; anything that is not a code is an error."""
    code = str(raw).strip().upper()
    for suffix in _EXCHANGE_SUFFIXES:
        if code.endswith(suffix):
            code = code[: -len(suffix)]
            break
    if not _STOCK_CODE.match(code):
        raise TagError(
            _("%(value)r is not a Taiwanese stock code (4 to 6 digits, optionally one letter).")
            % {"value": raw}
        )
    return code


def commodity_tags_build(
    *, stock_codes: Sequence[str], stance: str = "neutral", include_market: bool = False
) -> list[dict[str, Any]]:
    """The ``commodityTags`` list: one Stock tag per distinct code (first = primary), then the market tag."""
    if stance not in BULL_OR_BEAR:
        raise TagError(
            _("Unknown stance %(stance)r; expected one of %(choices)s.")
            % {"stance": stance, "choices": ", ".join(STANCES)}
        )
    codes = list(dict.fromkeys(bare_stock_code(code) for code in stock_codes))
    tags: list[dict[str, Any]] = [
        {"type": "Stock", "key": code, "bullOrBear": BULL_OR_BEAR[stance] if index == 0 else 0}
        for index, code in enumerate(codes)
    ]
    if include_market:
        tags.append(dict(MARKET_TAG))
    return tags


def community_topic_build(topic_id: str) -> dict[str, str] | None:
    """The ``communityTopic`` attachment, or None when the post is not attached to a topic."""
    topic_id = topic_id.strip()
    return {"id": topic_id} if topic_id else None
