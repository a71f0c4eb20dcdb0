"""Reading one number where a figure starts: Arabic digits with thousands separators and decimals,
Chinese numerals (三百八十五, 兩千, 五十八點三), and both mixed with 萬/億/兆 (2萬5千, 1.2億, 三萬五千).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from posting.checks.text import to_simplified

_ARABIC = re.compile(r"(?:\d{1,3}(?:,\d{3})+(?![\d])|\d+)(?:\.\d+)?")
_CN_CHARS = to_simplified("零〇一二兩三四五六七八九十百千")
_CN = re.compile(f"[{_CN_CHARS}]+")
CN_DIGITS = {ch: i for i, ch in enumerate(to_simplified("零一二三四五六七八九"))} | {"〇": 0, "两": 2}
_SMALL_MAGNITUDES = {"十": 10, "百": 100, "千": 1000}
_BIG_MAGNITUDES = {to_simplified("萬"): 10_000, to_simplified("億"): 100_000_000, "兆": 10**12}
START = re.compile(rf"\d|[{_CN_CHARS}]")
_CN_POINT = to_simplified("點")
_CN_DECIMALS = re.compile(f"{_CN_POINT}([{''.join(CN_DIGITS)}]+)")


@dataclass(frozen=True)
class Number:
    value: float
    precision: float
    end: int
    chinese: bool
    magnified: bool


def _cn_value(digits: str) -> float:
    total = 0
    current = 0
    for char in digits:
        if char in CN_DIGITS:
            current = current * 10 + CN_DIGITS[char]
        elif char in _SMALL_MAGNITUDES:
            total += (current or 1) * _SMALL_MAGNITUDES[char]
            current = 0
    return float(total + current)


def _read_term(text: str, pos: int) -> Number | None:
    arabic = _ARABIC.match(text, pos)
    if arabic is not None:
        raw = arabic.group().replace(",", "")
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        value, precision, end, chinese = float(raw), 10.0**-decimals, arabic.end(), False
    else:
        chinese_match = _CN.match(text, pos)
        if chinese_match is None:
            return None
        value, precision, end, chinese = _cn_value(chinese_match.group()), 1.0, chinese_match.end(), True
        point = _CN_DECIMALS.match(text, end)
        if point is not None:
            # 「五十八點三」 is 58.3: digits after 點 are read one by one.
            digits = point.group(1)
            value += sum(CN_DIGITS[char] * 10.0 ** -(i + 1) for i, char in enumerate(digits))
            precision, end = 10.0 ** -len(digits), point.end()
    magnified = False
    if not chinese and end < len(text) and text[end] in _SMALL_MAGNITUDES:
        value, precision = value * _SMALL_MAGNITUDES[text[end]], precision * _SMALL_MAGNITUDES[text[end]]
        end += 1
    if end < len(text) and text[end] in _BIG_MAGNITUDES:
        factor = _BIG_MAGNITUDES[text[end]]
        value, precision, end, magnified = value * factor, precision * factor, end + 1, True
    return Number(value=value, precision=precision, end=end, chinese=chinese, magnified=magnified)


def read_number(text: str, pos: int) -> Number | None:
    """A number at pos, compounds included: 「12億3,456萬」, 「1萬2千」."""
    first = _read_term(text, pos)
    if first is None:
        return None
    number = first
    while number.magnified and number.end < len(text) and START.match(text, number.end):
        following = _read_term(text, number.end)
        if following is None or following.value >= number.precision:
            break
        number = Number(
            value=number.value + following.value,
            precision=following.precision,
            end=following.end,
            chinese=number.chinese and following.chinese,
            magnified=following.magnified,
        )
    return number
