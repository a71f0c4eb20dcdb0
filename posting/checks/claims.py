"""Grounding of claims: words that state what the stock did today, held against the market snapshot.

「漲停」 on a 4% rise, 「上漲」 on a fall, 「翻紅」 on a red-to-green day or 「創新高」 below the recent high is
an ungrounded claim, reported with the snapshot figure it was held against. A claim is read only where it
speaks of the post's stock today: a clause about the index, another day, a condition or a forecast
(「大盤下跌」「昨天跌停」「如果明天漲停」「有望創新高」), a clause naming another stock than the post's (「聯發科下跌，
台積電逆勢上漲」: the first clause) or a negated claim (「沒有漲停」) is not checked.
Numbers next to direction words (「上漲4元」) are grounded by grounding.py; this module reads the words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from market.models import Stock
from posting.checks.grounding import as_number, grounding_severity, latest_quote, limit_prices
from posting.checks.numbers import prepare
from posting.checks.stocks import StockDirectory
from posting.checks.text import clause_bounds, fold_pattern
from posting.checks.types import Field, Finding

# Big moves: 「大漲」 on a 0.5% day is not grounded either.
BIG_MOVE_PCT = 3.0
# A limit move is within a tick or two of ±10%; 9.5% is the lowest a rounded limit price can give.
LIMIT_PCT = 9.5


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(fold_pattern(pattern), re.IGNORECASE)


@dataclass(frozen=True)
class Day:
    """The day's figures a claim is held against (None when the snapshot lacks them)."""

    close: float | None
    open: float | None
    high: float | None
    change: float | None
    change_pct: float | None
    limit_up: float | None
    limit_down: float | None
    recent_high: float | None


@dataclass(frozen=True)
class Claim:
    code: str
    pattern: re.Pattern[str]
    # (grounded?, snapshot label, snapshot value); None when the snapshot cannot tell.
    test: Callable[[Day], tuple[bool, str, float] | None]


def _pct(day: Day, ok: Callable[[float], bool]) -> tuple[bool, str, float] | None:
    if day.change_pct is None:
        return None
    return ok(day.change_pct), "change %", round(day.change_pct, 2)


def _chg(day: Day, ok: Callable[[float], bool]) -> tuple[bool, str, float] | None:
    if day.change is not None:
        return ok(day.change), "change", day.change
    return _pct(day, ok)


def _limit_up(day: Day) -> tuple[bool, str, float] | None:
    if day.close is not None and day.limit_up is not None:
        return day.close >= day.limit_up - 1e-9, f"close (limit up {day.limit_up:g})", day.close
    return _pct(day, lambda pct: pct >= LIMIT_PCT)


def _limit_down(day: Day) -> tuple[bool, str, float] | None:
    if day.close is not None and day.limit_down is not None:
        return day.close <= day.limit_down + 1e-9, f"close (limit down {day.limit_down:g})", day.close
    return _pct(day, lambda pct: pct <= -LIMIT_PCT)


def _black_candle(day: Day) -> tuple[bool, str, float] | None:
    # 「收黑」: a fall on the day, or a close under the open (a black candle).
    if day.change is None:
        return None
    below_open = day.open is not None and day.close is not None and day.close < day.open
    return day.change < 0 or below_open, "change", day.change


def _new_high(day: Day) -> tuple[bool, str, float] | None:
    if day.high is None or day.recent_high is None:
        return None
    return day.high >= day.recent_high - 1e-9, f"high (recent high {day.recent_high:g})", day.high


def _tenths(day: Day, tenths: int, sign: int) -> tuple[bool, str, float] | None:
    return _pct(day, lambda pct: sign * pct >= tenths * 10 - 0.5)


_NOT_BEFORE = r"(?<![跌漲涨停])"
CLAIMS: tuple[Claim, ...] = (
    Claim(
        "limit_up", _p(r"(亮燈|鎖|攻上|攻|衝上|直奔|拉上|拉|噴)?漲停(板|鎖死|作收|收盤|價作收)?"), _limit_up
    ),
    Claim("limit_down", _p(r"(亮燈|鎖|摜破|殺到|殺|打到|打)?跌停(板|鎖死|作收|收盤)?"), _limit_down),
    Claim("up_tenth", _p(r"(大漲|漲|噴|飆)(了)?(一|1)成(?![交長本立])"), lambda d: _tenths(d, 1, 1)),
    Claim("down_tenth", _p(r"(大跌|跌|重挫|挫)(了)?(一|1)成(?![交長本立])"), lambda d: _tenths(d, 1, -1)),
    Claim("turned_red", _p(r"翻紅|翻漲|收紅|收漲|收高|紅K作收|開低走高"), lambda d: _chg(d, lambda v: v > 0)),
    Claim("turned_black", _p(r"翻黑|翻綠|翻跌|收綠|收跌|收低|開高走低"), lambda d: _chg(d, lambda v: v < 0)),
    Claim("closed_black", _p(r"收黑(K)?|黑K作收"), _black_candle),
    Claim("new_high", _p(r"(再)?創(下)?(歷史|波段|近期|今年|年內)?(新)?高(點|價)?(?![達於出])"), _new_high),
    Claim(
        "big_rise",
        _p(r"大漲|飆漲|狂飆|噴出|暴漲|強漲"),
        lambda d: _pct(d, lambda pct: pct >= BIG_MOVE_PCT),
    ),
    Claim(
        "big_fall",
        _p(r"大跌|重挫|暴跌|崩跌|狂跌|慘跌"),
        lambda d: _pct(d, lambda pct: pct <= -BIG_MOVE_PCT),
    ),
    Claim(
        "rise",
        _p(_NOT_BEFORE + r"(上漲|走高|走揚|上揚|揚升|攀升|勁揚|彈升|收復)"),
        lambda d: _chg(d, lambda v: v > 0),
    ),
    Claim(
        "fall",
        _p(_NOT_BEFORE + r"(下跌|走低|下挫|走弱|下滑|滑落|收低|挫低|回落)"),
        lambda d: _chg(d, lambda v: v < 0),
    ),
)

# A clause with these is about something else than the stock today, or does not assert a claim.
_OTHER_SUBJECT = _p(
    r"大盤|指數|加權|台股|櫃買|美股|道瓊|那斯達克|費半|標普|日股|陸股|港股|同業|類股|族群|對手|其他|競爭|成交量|量能|營收|"
    r"獲利|eps|毛利|殖利率|外資|投信|法人|匯率|台幣|美元|利率|油價|金價|期貨|指標|kd|rsi|macd|均線|月線|季線"
)
_OTHER_TIME = _p(
    r"昨天|昨日|前天|前日|上週|上周|上星期|上個月|上月|去年|前年|年初|上次|之前|先前|過去|曾經|曾|歷史上|當年|那天|"
    r"明天|明日|後天|下週|下周|未來|之後|接下來|隔天|週線|周線|月線|本週|本周|這週|這周|今年以來|近\d+日|連\d+"
)
_CONDITIONAL = _p(
    r"如果|若是|若|萬一|假如|假設|要是|是否|會不會|能不能|能否|有望|可望|預期|預估|估計|可能|或許|也許|目標|等待|等到|"
    r"希望|期待|才會|就會|將會|恐|準備|隨時|有機會|離|距離|還差|差一點|差點|一度|盤中|早盤|午盤|尾盤前|開盤|\?|？|嗎"
)
_NEGATED = _p(r"(沒有|沒|未|不是|並非|不會|無|不算|稱不上|談不上|非)[^，。]{0,3}$")


@dataclass(frozen=True)
class _Subjects:
    """Which stocks a clause may name and still be about the post's stock."""

    directory: StockDirectory | None
    own: frozenset[str]  # the post's stock: its code and folded name
    several: bool  # without a post stock, the text names more than one stock

    def other_stock_in(self, clause: str) -> bool:
        if self.directory is None:
            return False
        named = set(self.directory.codes_in(clause)) | set(self.directory.names_in(clause))
        if self.own:
            return bool(named - self.own)
        return self.several and bool(named)


def _subjects(texts: Mapping[Field, str], stock: Stock | None, directory: StockDirectory | None) -> _Subjects:
    if directory is None:
        return _Subjects(None, frozenset(), False)
    if stock is not None:
        own = {stock.code.lower()} | ({prepare(stock.name).replace(" ", "")} if stock.name else set())
        return _Subjects(directory, frozenset(own), False)
    prepared = prepare("\n".join(texts.values()))
    stocks = set(directory.codes_in(prepared)) | {
        directory.names[name] for name in directory.names_in(prepared)
    }
    return _Subjects(directory, frozenset(), len({code.lower() for code in stocks}) > 1)


def _skipped(text: str, start: int, end: int, subjects: _Subjects) -> bool:
    left, right = clause_bounds(text, start, end)
    clause, before = text[left:right], text[left:start]
    for own in subjects.own:
        # The post's own name says nothing about the subject: 「國泰臺灣加權正2今天上漲」 is about the ETF,
        # and 「無敵今天下跌」 is not negated.
        clause, before = clause.replace(own, " "), before.replace(own, " ")
    if _OTHER_SUBJECT.search(clause) or _OTHER_TIME.search(clause) or _CONDITIONAL.search(clause):
        return True
    return bool(_NEGATED.search(before)) or subjects.other_stock_in(clause)


def _day(snapshot: Mapping[str, Any]) -> Day:
    quote = latest_quote(snapshot)
    close, change = as_number(quote.get("close")), as_number(quote.get("change"))
    prev = as_number(quote.get("prev_close")) or as_number(quote.get("previous_close"))
    if prev is None and close is not None and change is not None:
        prev = close - change
    if change is None and close is not None and prev is not None:
        change = close - prev
    pct = change / prev * 100 if change is not None and prev else as_number(quote.get("change_pct"))
    limit_up, limit_down = limit_prices(prev) if prev else (None, None)
    return Day(
        close=close,
        open=as_number(quote.get("open")),
        high=as_number(quote.get("high")) or close,
        change=change,
        change_pct=pct,
        limit_up=limit_up,
        limit_down=limit_down,
        recent_high=_recent_high(snapshot, quote),
    )


def _recent_high(snapshot: Mapping[str, Any], quote: Mapping[str, Any]) -> float | None:
    """The highest high before today, from the history rows or the 20-day range."""
    highs: list[float] = []
    history = snapshot.get("history")
    if isinstance(history, list):
        today = quote.get("date")
        for row in history:
            if isinstance(row, Mapping) and (today is None or row.get("date") != today):
                high = as_number(row.get("high"))
                if high is not None:
                    highs.append(high)
    figures = snapshot.get("figures")
    if not highs and isinstance(figures, Mapping) and isinstance(figures.get("range_20d"), Mapping):
        high = as_number(figures["range_20d"].get("high"))
        if high is not None:
            highs.append(high)
    return max(highs) if highs else None


def _finding(
    claim: Claim, field: Field, original: str, span: tuple[int, int], ref: tuple[str, float]
) -> Finding:
    start, end = span
    label, value = ref
    excerpt = original[start:end]
    return Finding(
        code=f"grounding.claim_{claim.code}",
        severity=grounding_severity(),
        excerpt=excerpt,
        message=_("「%(claim)s」 does not fit the market snapshot (%(label)s = %(value)s).")
        % {
            "claim": excerpt,
            "label": label,
            "value": f"{value:+,.4g}" if "change" in label else f"{value:,.4g}",
        },
        field=field,
        start=start,
        end=end,
        detail={"claim": claim.code, "reference": {"label": label, "value": value}},
    )


def claim_findings(
    *,
    texts: Mapping[Field, str],
    snapshot: Mapping[str, Any] | None,
    stock: Stock | None = None,
    directory: StockDirectory | None = None,
) -> list[Finding]:
    """Ungrounded claims in the title and body; none when there is no snapshot to hold them against.

    ``stock`` is the post's stock and ``directory`` the stocks a clause may name instead (stocks.py).
    """
    if not snapshot:
        return []
    day = _day(snapshot)
    if day.close is None:
        return []
    subjects = _subjects(texts, stock, directory)
    findings: list[Finding] = []
    for field, original in texts.items():
        prepared = prepare(original)
        taken: list[tuple[int, int]] = []
        for claim in CLAIMS:
            for match in claim.pattern.finditer(prepared):
                span = match.span()
                if any(s < span[1] and span[0] < e for s, e in taken):
                    continue
                taken.append(span)
                if _skipped(prepared, *span, subjects):
                    continue
                outcome = claim.test(day)
                if outcome is not None and not outcome[0]:
                    findings.append(_finding(claim, field, original, span, outcome[1:]))
    return findings
