"""Market figures in Taiwanese prose: prices, changes, percentages, volumes and turnover.

Understands 元/塊, %/％/趴/成 (1成 = 10%), 張 (1,000 shares), 萬/億/千, thousands separators, full-width
digits, common Chinese numerals (三成, 兩萬張), signs and direction words (漲/跌/+/-/▲/▼), ranges (100~105元)
and hedges (約, 近, 逾, 不到, 左右, 多). Dates, times, stock codes, years, periods (5日線, MA20), counts and
list numbers are not figures. A number with neither a unit nor a price/volume context word is not a figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from posting.checks.numerals import (
    CN_DIGITS,
    START,
    Number,
    read_number,
)
from posting.checks.text import fold_pattern, to_simplified
from posting.checks.types import Field

Kind = Literal["price", "change", "percent", "volume", "turnover", "amount"]
Hedge = Literal["exact", "approx", "near", "over", "under"]


@dataclass(frozen=True)
class Figure:
    """One figure: ``value`` in base units (TWD, percent, shares); ``precision`` is one unit of its last
    written digit in the same units, which is how far rounding may have moved it."""

    kind: Kind
    value: float
    precision: float
    hedge: Hedge
    sign: int | None
    field: Field
    start: int
    end: int
    text: str
    high: float | None = None
    alternatives: tuple[float, ...] = ()
    forecast: bool = False

    def readings(self) -> tuple[float, ...]:
        return (self.value, *self.alternatives)


def _p(pattern: str) -> re.Pattern[str]:
    # Patterns are written in Traditional characters and folded the way the text is.
    return re.compile(fold_pattern(pattern), re.IGNORECASE)


_PERCENT_UNIT = _p(r"\s*(%|趴|percent(?![a-z])|個百分點|百分點|pp(?![a-z]))")
_TENTH_UNIT = _p(r"\s*成(?![交長本立為功員績分果熟效就是會要在也又有不能可])")
_MONEY_UNIT = _p(r"\s*(元|塊錢|塊|圓|twd(?![a-z])|ntd?(?![a-z$]))")
_LOTS_UNIT = _p(r"\s*張")
_SHARES_UNIT = _p(r"\s*股(?![價票東利本息份市王民性子權災])")
# A number followed by these counts days, lots of companies, ranks, times…: not a market figure.
_NOT_A_FIGURE_UNIT = _p(
    r"\s*(日|天|週|周|個|月|季|年|時|點|分|秒|檔|家|名|位|次|人|倍|大|條|根|支|隻|樣|項|篇|則|期|歲|碼|號|樓|線|席|筆|"
    r"[a-z])"
)
_SUFFIX_HEDGE = _p(r"\s*(左右|上下|附近|出頭|多|餘|以上|以下|以內|大關|關卡)")
_RANGE = _p(r"\s*(~|-|–|—|至|到)\s*")

_PREFIX_HEDGES = [
    (_p(r"(大約|約莫|大概|差不多|約|近乎|幾乎)\s*$"), "approx"),
    (_p(r"(?<!最)(將近|接近|逼近|近)\s*$"), "near"),
    (_p(r"(逾|超過|(?<![買賣])超|多於|高於|大於)\s*$"), "over"),
    (_p(r"(不到|未達|少於|低於|不足|未滿|小於)\s*$"), "under"),
]
_SUFFIX_HEDGES = {
    fold_pattern("左右"): "approx",
    fold_pattern("上下"): "approx",
    fold_pattern("附近"): "approx",
    fold_pattern("大關"): "approx",
    fold_pattern("關卡"): "approx",
    fold_pattern("出頭"): "over",
    fold_pattern("多"): "over",
    fold_pattern("餘"): "over",
    fold_pattern("以上"): "over",
    fold_pattern("以下"): "under",
    fold_pattern("以內"): "under",
}
_SIGN = re.compile(r"([+\-−▲▼↑↓△▽⬆⬇🔺🔻])\s*$")
_UP_SIGNS = "+▲↑△⬆🔺"
_MONEY_PREFIX = _p(r"(nt\$|\$|新台幣|台幣)\s*$")
_PERCENT_PREFIX = _p(r"百分之$")
_SKIP_PREFIX = _p(r"(第|#|＃|no\.?)\s*$|前$")

# Context words before a figure, in its clause; the nearest one decides what the figure is.
_CONTEXT = _p(
    r"(?P<level>收盤價|收盤|收在|收於|收報|開盤價|開盤|開在|開出|最高價|最高|最低價|最低|高點|低點|股價|報價|成交價|現價|"
    r"價位|價格|均價|來到|站上|站回|站穩|跌破|突破|守住|守穩|失守|跌至|跌到|跌落|跌回|漲至|漲到|漲回|漲破|回到|回測|回落至|"
    r"支撐|壓力|均線|月線|季線|年線|半年線|週線|周線|前高|前低|區間|每股|落在|位於|介於|達到|收|價|報|至|到)"
    r"|(?P<neutral>漲跌幅|漲跌|變動|波動|振幅)"
    r"|(?P<up>上漲|大漲|小漲|勁揚|上揚|揚升|走高|收漲|反彈|彈升|翻紅|走揚|攀升|漲幅|漲了|漲)"
    r"|(?P<down>下跌|大跌|小跌|重挫|下挫|走低|收跌|回檔|拉回|翻黑|下滑|滑落|回落|跌幅|跌了|挫|跌)"
    r"|(?P<volume>成交量|交易量|量能|成交張數|張數|volume|量)"
    r"|(?P<turnover>成交金額|成交值|成交額|交易值|交易金額|turnover|金額|成交)"
    r"|(?P<fundamental>eps|每股盈餘|每股純益|股利|配息|現金股利|股息|配股|淨值|營收|獲利|淨利|毛利|本益比|殖利率|市值|"
    r"資本額|股本|法說)"
    r"|(?P<forecast>上看|下看|目標價|目標|挑戰|預估|預期|預計|估計|有望|可望|喊|展望|財測|年化|每年|每月|報酬率)"
    r"|(?P<indicator>kd|rsi|macd|dif|osc|k值|d值|乖離|威廉|布林|bias|sma|ema|ma|pe|pb|beta)"
)
_CONTEXT_WINDOW = 10
_CLAUSE_BREAKS = "。！？!?；;\n，、"

_MASKS = [
    re.compile(r"https?://\S+|www\.\S+"),
    re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|(?<![\d.])\d{1,2}/\d{1,2}(?:/\d{2,4})?(?![\d%])"),
    _p(
        r"(\d{2,4}|[零〇一二兩三四五六七八九十]{1,4})年(\d{1,2}|[一二三四五六七八九十]{1,3})月((\d{1,2}|[一二三四五六七八九十]{1,3})[日號])?"
    ),
    _p(r"\d{1,2}月\d{1,2}[日號]?|民國\d+年"),
    _p(r"\d{1,2}:\d{2}(:\d{2})?|\d{1,2}點(\d{1,2}分|半)?"),
    _p(r"[(（]\s*\d{4,6}[a-z]?\s*[)）]|[#＃]\d{4,6}|\d{4,6}\.two?|(代號|股號|代碼)\s*[:：]?\s*\d{4,6}"),
    _p(r"(?<![\d.,])\d{4,6}(?=[\u4e00-\u9fff])(?![元塊張股萬億千百成趴年月日點])"),
    re.compile(r"(?m)^\s*\(?\d{1,2}[.、)）]\s*(?!\d)"),
]


def prepare(text: str) -> str:
    """Narrow full-width characters and simplify, one character for one, so offsets stay the same."""
    narrowed = "".join(_narrow_char(char) for char in text)
    simplified = to_simplified(narrowed)
    if len(simplified) != len(narrowed):
        simplified = "".join((to_simplified(char) or char)[:1] for char in narrowed)
    return simplified


def _narrow_char(char: str) -> str:
    code = ord(char)
    if 0xFF01 <= code <= 0xFF5E and char not in "，（）":
        char = chr(code - 0xFEE0)
    elif char == "\u3000":
        char = " "
    elif char in "−﹣":
        char = "-"
    elif char == "﹪":
        char = "%"
    return char.lower() if char.isascii() else char


# --- Reading one number -----------------------------------------------------------------------------


# --- Classifying a number ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    kind: Literal["percent", "money", "lots", "shares", "none", "skip"]
    end: int
    factor: float = 1.0
    extra: float = 0.0


def _unit_after(text: str, number: Number) -> _Unit:
    pos = number.end
    match = _PERCENT_UNIT.match(text, pos)
    if match:
        return _Unit("percent", match.end())
    match = _TENTH_UNIT.match(text, pos)
    if match and number.value <= 10:
        return _tenths(text, match.end())
    match = _MONEY_UNIT.match(text, pos)
    if match:
        return _Unit("money", match.end())
    match = _LOTS_UNIT.match(text, pos)
    if match:
        small_count = number.chinese and not number.magnified and number.value < 100
        return _Unit("skip" if small_count else "lots", match.end(), factor=1000)
    match = _SHARES_UNIT.match(text, pos)
    if match:
        return _Unit("skip" if number.chinese and not number.magnified else "shares", match.end())
    if _NOT_A_FIGURE_UNIT.match(text, pos):
        return _Unit("skip", pos)
    return _Unit("none", pos)


def _tenths(text: str, end: int) -> _Unit:
    """「三成」 is 30%, 「兩成半」 25%, 「七成五」 75%."""
    if end < len(text) and text[end] == "半":
        return _Unit("percent", end + 1, factor=10, extra=5)
    if end < len(text) and (text[end].isdigit() or text[end] in CN_DIGITS):
        digit = int(text[end]) if text[end].isdigit() else CN_DIGITS[text[end]]
        return _Unit("percent", end + 1, factor=10, extra=digit)
    return _Unit("percent", end, factor=10)


def _clause_before(text: str, start: int) -> str:
    left = start
    while left > 0 and start - left < _CONTEXT_WINDOW and text[left - 1] not in _CLAUSE_BREAKS:
        left -= 1
    return text[left:start]


@dataclass(frozen=True)
class _Context:
    nearest: str | None
    present: frozenset[str]
    direction: int | None


def _contexts(window: str) -> _Context:
    """The nearest context word's group, every group present, and the last direction word's sign."""
    best: tuple[int, int, str] | None = None
    present: set[str] = set()
    direction: int | None = None
    for match in _CONTEXT.finditer(window):
        # finditer does not overlap: 「跌破」 is found as one word, not 「跌」 then 「破」.
        group = match.lastgroup or ""
        present.add(group)
        if group in ("up", "down"):
            direction = 1 if group == "up" else -1
        key = (match.end(), match.end() - match.start(), group)
        if best is None or key[:2] > best[:2]:
            best = key
    return _Context(nearest=best[2] if best else None, present=frozenset(present), direction=direction)


@dataclass(frozen=True)
class _Prefix:
    start: int
    hedge: Hedge
    sign: int | None
    money: bool
    percent: bool
    context: str | None
    contexts: frozenset[str]
    direction: int | None
    skip: bool


def _prefix_before(text: str, start: int) -> _Prefix:
    window = _clause_before(text, start)
    cursor = len(window)
    hedge: Hedge = "exact"
    sign: int | None = None
    money = percent = False
    sign_match = _SIGN.search(window[:cursor])
    if sign_match and not (sign_match.group(1) == "-" and _ends_with_digit(window[: sign_match.start()])):
        sign = 1 if sign_match.group(1) in _UP_SIGNS else -1
        cursor = sign_match.start()
    for pattern, name in _PREFIX_HEDGES:
        hedge_match = pattern.search(window[:cursor])
        if hedge_match:
            hedge, cursor = name, hedge_match.start()  # type: ignore[assignment]
            break
    money_match = _MONEY_PREFIX.search(window[:cursor])
    if money_match:
        money, cursor = True, money_match.start()
    percent_match = _PERCENT_PREFIX.search(window[:cursor])
    if percent_match:
        percent, cursor = True, percent_match.start()
    skip = bool(_SKIP_PREFIX.search(window[:cursor])) and cursor == len(window)
    context = _contexts(window[:cursor])
    return _Prefix(
        start=start - (len(window) - cursor),
        hedge=hedge,
        sign=sign,
        money=money,
        percent=percent,
        context=context.nearest,
        contexts=context.present,
        direction=context.direction,
        skip=skip,
    )


def _ends_with_digit(text: str) -> bool:
    return bool(text.rstrip()) and text.rstrip()[-1].isdigit()


def _classify(prefix: _Prefix, unit: _Unit, number: Number) -> tuple[Kind, tuple[float, ...]] | None:
    """The figure's kind and any other readings of its value, or None when it is not a market figure."""
    context = prefix.context
    # 「RSI來到70」: an indicator reading, not a price, unless a unit says otherwise.
    if "indicator" in prefix.contexts and unit.kind in ("none", "skip") and not prefix.money:
        return None
    if unit.kind == "percent" or prefix.percent:
        return "percent", ()
    if unit.kind in ("lots", "shares"):
        return "volume", ()
    if unit.kind == "money" or prefix.money:
        return _money_kind(context, number, prefix), ()
    if unit.kind == "skip":
        return None
    return _bare_kind(context, number, prefix)


def _money_kind(context: str | None, number: Number, prefix: _Prefix) -> Kind:
    if number.magnified or number.value >= 1_000_000:
        return "turnover" if context == "turnover" else "amount"
    if context in ("up", "down", "neutral") or prefix.sign is not None:
        return "change"
    if context == "fundamental":
        return "amount"
    return "price"


def _bare_kind(context: str | None, number: Number, prefix: _Prefix) -> tuple[Kind, tuple[float, ...]] | None:
    if number.chinese:
        return None
    if number.magnified:
        if context == "turnover":
            return "turnover", ()
        if context == "volume":
            return "volume", (number.value * 1000,)
        return ("amount", ()) if number.value >= 100_000_000 else None
    if prefix.sign is not None or context in ("up", "down"):
        return "change", ()
    if context == "level":
        return "price", ()
    if context == "volume":
        return "volume", (number.value * 1000,)
    return None


# --- Extraction -------------------------------------------------------------------------------------


def _masked_spans(text: str, skip_codes: Iterable[str]) -> list[tuple[int, int]]:
    spans = [match.span() for pattern in _MASKS for match in pattern.finditer(text)]
    codes = {code.lower() for code in skip_codes}
    if codes:
        spans += [
            match.span()
            for match in re.finditer(r"(?<![\d.,])\d{4,6}[a-z]?(?![\d.,]*\d)(?!\s*[元塊块張张股%])", text)
            if match.group() in codes
        ]
    return sorted(spans)


def extract_figures(text: str, *, field: Field = "body", skip_codes: Iterable[str] = ()) -> list[Figure]:
    """Every market figure in text, with its offsets in the original text."""
    prepared = prepare(text)
    masked = _masked_spans(prepared, skip_codes)
    figures: list[Figure] = []
    pos = 0
    while (found := START.search(prepared, pos)) is not None:
        start = found.start()
        mask_end = _mask_end(masked, start)
        if mask_end is not None:
            pos = max(mask_end, start + 1)
            continue
        figure, pos = _figure_at(text, prepared, start, field)
        if figure is not None:
            figures.append(figure)
    return figures


def _mask_end(spans: list[tuple[int, int]], pos: int) -> int | None:
    for start, end in spans:
        if start <= pos < end:
            return end
    return None


def _figure_at(original: str, text: str, start: int, field: Field) -> tuple[Figure | None, int]:
    """The figure starting at start, if the number there is one, and where to look next."""
    number = read_number(text, start)
    if number is None:
        return None, start + 1
    high: float | None = None
    unit = _unit_after(text, number)
    if unit.kind == "none":
        ranged = _range_end(text, number)
        if ranged is not None:
            high_number, unit = ranged
            high = high_number.value
    resume = max(unit.end, number.end)
    # 「MA20」「Q3」: a number glued to Latin letters names a thing unless a unit follows.
    glued = start > 0 and text[start - 1].isascii() and text[start - 1].isalpha()
    if glued and unit.kind in ("none", "skip"):
        return None, resume
    prefix = _prefix_before(text, start)
    if prefix.skip or (number.chinese and unit.kind in ("none", "skip") and not prefix.percent):
        return None, resume
    classified = _classify(prefix, unit, number)
    if classified is None:
        return None, resume
    kind, alternatives = classified
    return _build(original, text, start, number, unit, prefix, kind, alternatives, high, field)


def _range_end(text: str, number: Number) -> tuple[Number, _Unit] | None:
    connector = _RANGE.match(text, number.end)
    if connector is None:
        return None
    second = read_number(text, connector.end())
    if second is None or second.value < number.value:
        return None
    unit = _unit_after(text, second)
    return (second, unit) if unit.kind not in ("none", "skip") else None


def _build(
    original: str,
    text: str,
    start: int,
    number: Number,
    unit: _Unit,
    prefix: _Prefix,
    kind: Kind,
    alternatives: tuple[float, ...],
    high: float | None,
    field: Field,
) -> tuple[Figure, int]:
    end = unit.end
    hedge = prefix.hedge
    suffix = _SUFFIX_HEDGE.match(text, end)
    if suffix and hedge == "exact":
        hedge = _SUFFIX_HEDGES.get(suffix.group(1), "approx")  # type: ignore[assignment]
        end = suffix.end()
    factor = unit.factor
    value = number.value * factor + unit.extra
    precision = number.precision * factor
    sign = prefix.sign if prefix.sign is not None else prefix.direction
    figure_start = prefix.start
    while figure_start < end and original[figure_start].isspace():
        figure_start += 1
    figure = Figure(
        kind=kind,
        value=value,
        precision=precision,
        hedge=hedge,
        sign=sign if kind in ("change", "percent") else None,
        field=field,
        start=figure_start,
        end=end,
        text=original[figure_start:end],
        high=high * factor if high is not None else None,
        alternatives=tuple(a * factor for a in alternatives),
        forecast=prefix.context == "forecast",
    )
    return figure, max(end, number.end)


@lru_cache(maxsize=256)
def figures_in_reference_text(text: str) -> tuple[Figure, ...]:
    """Figures quoted in snapshot text (a news headline): they ground the same figure in a post."""
    return tuple(extract_figures(text))
