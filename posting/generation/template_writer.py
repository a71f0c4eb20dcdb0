"""The template writer: a short factual post composed from a snapshot's numbers in the persona's phrasing.

It is an explicit mode (posts record ``generator=template``): chosen when no LLM is configured, so
drafts can be generated offline, or on purpose. It never stands in for a failed LLM call.

Deterministic: the same KOL and snapshot give the same text (the common phrase is picked by a stable
hash, not at random). Every number in the text is copied from the snapshot (prices, change, percent,
lots, 億, volume ratio, the trading date); averaging windows are written in words (週線, 月線, 二十日)
so that no figure appears that the snapshot does not hold. The persona's own signature and phrases are
copied as written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from kols.models import PostType

if TYPE_CHECKING:
    from kols.models import KOL

TEMPLATE_WRITER_VERSION = "template-v1"
RISK_REMINDER = "投資有風險，以上為個人觀察與數據整理，不構成投資建議，請自行判斷。"
NEWS_ITEMS = 2
EMOJI = {"up": "📈", "down": "📉", "flat": "📊", None: "📊"}


class TemplateWriterError(ServiceError):
    code = "template_writer_failed"
    status_code = 422


@dataclass(frozen=True)
class WrittenPost:
    title: str
    body: str
    stance: str
    tags: list[str]
    prompt_version: str = TEMPLATE_WRITER_VERSION


def _number(value: str) -> str:
    """ "104.00" -> "104", "1045.50" -> "1,045.5", "-3.20" -> "3.2" (the sign is said in words)."""
    return f"{abs(Decimal(value)).normalize():,f}"


def _direction(quote: Mapping[str, Any]) -> str | None:
    if quote.get("change") is None:
        return None
    change = Decimal(quote["change"])
    return "up" if change > 0 else "down" if change < 0 else "flat"


def _date_label(iso_date: str) -> str:
    _year, month, day = iso_date.split("-")
    return f"{int(month)}/{int(day)}"


def _pick(options: list[str], seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


@dataclass(frozen=True)
class _Voice:
    formal: bool
    confident: bool
    interactive: bool
    emoji: str

    @classmethod
    def of(cls, kol: KOL, post_type: str) -> _Voice:
        return cls(
            formal=kol.tone_formal >= 6,
            confident=kol.tone_confidence >= 7,
            interactive=kol.tone_interaction >= 7 or post_type == PostType.QUESTION,
            emoji=kol.emoji_use,
        )


def _title(stock: Mapping[str, Any], quote: Mapping[str, Any], post_type: str, voice: _Voice) -> str:
    name, code, direction = stock["name"], stock["code"], _direction(quote)
    if post_type == PostType.NEWS_COMMENTARY:
        title = f"{name}（{code}）消息面整理"
    elif direction in ("up", "down") and quote.get("change_pct") is not None:
        move = f"{'上漲' if direction == 'up' else '下跌'}{_number(quote['change_pct'])}%"
        title = (
            f"{name}（{code}）{move}，大家怎麼看？"
            if post_type == PostType.QUESTION
            else f"{name}（{code}）{move}"
        )
    else:
        title = f"{name}（{code}）收{_number(quote['close'])}元"
    return f"{EMOJI[direction]} {title}" if voice.emoji == "heavy" else title


def _move_sentence(stock: Mapping[str, Any], quote: Mapping[str, Any], date: str, voice: _Voice) -> str:
    name, close, direction = stock["name"], _number(quote["close"]), _direction(quote)
    opening = f"{date} {name}收盤價為{close}元" if voice.formal else f"{date} {name}收在{close}元"
    if direction is None:
        return opening + "。"
    if direction == "flat":
        return opening + "，與前一交易日持平。"
    verb = ("上漲" if voice.formal else "漲了") if direction == "up" else ("下跌" if voice.formal else "跌了")
    lead = "，較前一交易日" if voice.formal else "，"
    percent = f"（{_number(quote['change_pct'])}%）" if quote.get("change_pct") is not None else ""
    emoji = f" {EMOJI[direction]}" if voice.emoji == "light" else ""
    return f"{opening}{lead}{verb}{_number(quote['change'])}元{percent}。{emoji}".rstrip()


def _trading_sentence(quote: Mapping[str, Any]) -> str:
    parts = []
    if quote.get("high") is not None and quote.get("low") is not None:
        parts.append(f"盤中最高{_number(quote['high'])}元、最低{_number(quote['low'])}元")
    parts.append(f"成交量約{quote['volume_lots']:,}張")
    if quote.get("turnover_100m_twd") is not None:
        parts.append(f"成交金額約{_number(quote['turnover_100m_twd'])}億元")
    return "，".join(parts) + "。"


def _relation(close: Decimal, average: str, label: str) -> str:
    level = Decimal(average)
    where = "之上" if close > level else "之下" if close < level else "附近"
    return f"{label}（{_number(average)}元）{where}"


def _figures_sentences(quote: Mapping[str, Any], figures: Mapping[str, Any]) -> list[str]:
    sentences = []
    close = Decimal(quote["close"])
    averages = [
        _relation(close, figures[key], label)
        for key, label in (("ma5", "週線"), ("ma20", "月線"))
        if key in figures
    ]
    if averages:
        sentences.append("收盤價位在" + "、".join(averages) + "。")
    if "volume_ratio20" in figures:
        sentences.append(f"今天的量約為近二十日均量的{_number(figures['volume_ratio20'])}倍。")
    if "range_20d" in figures:
        low, high = _number(figures["range_20d"]["low"]), _number(figures["range_20d"]["high"])
        sentences.append(f"近二十個交易日的區間在{low}元到{high}元之間。")
    return sentences


def _news_lines(news: list[Mapping[str, Any]]) -> list[str]:
    lines = ["相關新聞："]
    for item in news[:NEWS_ITEMS]:
        source = f"（{item['source']}）" if item.get("source") else ""
        lines.append(f"・{item['title']}{source}")
    return lines


def _closing(voice: _Voice) -> str:
    if voice.interactive:
        return "大家怎麼看接下來的走勢？歡迎留言一起討論。"
    if voice.confident:
        return "後續的量價變化我會持續追蹤。"
    return "先把數據記下來，後續再觀察。"


def _require(snapshot: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    stock, quote = snapshot.get("stock") or {}, snapshot.get("quote") or {}
    missing = [f"stock.{key}" for key in ("code", "name") if not stock.get(key)]
    missing += [f"quote.{key}" for key in ("date", "close", "volume_lots") if quote.get(key) is None]
    if missing:
        raise TemplateWriterError(
            _("The market snapshot lacks %(keys)s; the template writer only writes from snapshot data.")
            % {"keys": ", ".join(missing)}
        )
    return stock, quote


def template_post_write(
    *, kol: KOL, snapshot: Mapping[str, Any], post_type: str = PostType.ANALYSIS
) -> WrittenPost:
    """Title and body from the snapshot in ``kol``'s phrasing; a news commentary needs news in the snapshot."""
    stock, quote = _require(snapshot)
    news = list(snapshot.get("news") or [])
    if post_type == PostType.NEWS_COMMENTARY and not news:
        raise TemplateWriterError(
            _("A news commentary needs news, and the snapshot for %(code)s has none.")
            % {"code": stock["code"]}
        )
    voice = _Voice.of(kol, post_type)
    phrases = [str(phrase).strip() for phrase in (kol.common_phrases or []) if str(phrase).strip()]
    paragraphs: list[str] = []
    if phrases:
        paragraphs.append(_pick(phrases, f"{kol.serial}:{stock['code']}:{quote['date']}:{post_type}"))
    facts = [_move_sentence(stock, quote, _date_label(quote["date"]), voice), _trading_sentence(quote)]
    paragraphs.append("".join([*facts, *_figures_sentences(quote, snapshot.get("figures") or {})]))
    if post_type == PostType.NEWS_COMMENTARY:
        paragraphs.append("\n".join(_news_lines(news)))
    paragraphs += [_closing(voice), RISK_REMINDER]
    if kol.signature.strip():
        paragraphs.append(kol.signature.strip())
    body = "\n\n".join(paragraphs)
    return WrittenPost(
        title=_title(stock, quote, post_type, voice), body=body, stance="neutral", tags=[str(stock["code"])]
    )


# --- Topic (macro) posts -------------------------------------------------------------------------------


def _breadth_sentence(market: Mapping[str, Any]) -> str:
    return (
        f"{_date_label(market['trade_date'])} 上市櫃普通股 {market['stocks_traded']:,} 檔有成交，"
        f"上漲 {market['advancing_stocks']:,} 檔、下跌 {market['declining_stocks']:,} 檔、"
        f"平盤 {market['unchanged_stocks']:,} 檔，成交金額合計約 {_number(market['turnover_100m_twd'])} 億元。"
    )


def template_topic_post_write(*, kol: KOL, snapshot: Mapping[str, Any], post_type: str) -> WrittenPost:
    """A topic post (no stock) from a topic snapshot: its news headlines and the market's breadth only."""
    topic = str((snapshot.get("topic") or {}).get("title") or "").strip()
    news, market = list(snapshot.get("news") or []), snapshot.get("market")
    if not topic or (not news and not market):
        raise TemplateWriterError(
            _(
                "The topic snapshot lacks a topic, news or market data; the template writer only writes from it."
            )
        )
    voice = _Voice.of(kol, post_type)
    paragraphs = [f"來聊聊「{topic}」。"]
    if market:
        paragraphs.append(_breadth_sentence(market))
    if news:
        paragraphs.append("\n".join(_news_lines(news)))
    paragraphs += [_closing(voice), RISK_REMINDER]
    if kol.signature.strip():
        paragraphs.append(kol.signature.strip())
    return WrittenPost(title=f"{topic}：市場觀察", body="\n\n".join(paragraphs), stance="neutral", tags=[])
