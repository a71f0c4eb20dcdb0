"""The template writer: a short factual post composed from a snapshot's numbers in the persona's phrasing.

It is an explicit mode (posts record ``generator=template``): chosen when no LLM is configured, so
drafts can be generated offline, or on purpose. It never stands in for a failed LLM call.

Deterministic: the same KOL and snapshot give the same text (every choice is picked by a stable hash,
not at random). Varied: each sentence has several wordings, the persona leads with its own angle and
the figures come in its order, so that a batch of drafts for different stocks and personas does not
read as one template repeated (posting/checks/duplicates.py would flag it). Every number in the text is copied from the snapshot (prices, change, percent,
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

TEMPLATE_WRITER_VERSION = "template-v2"
# Every variant says the post is a personal record and not advice (the compliance rule looks for that).
RISK_REMINDERS = (
    "投資有風險，以上為個人觀察與數據整理，不構成投資建議，請自行判斷。",
    "以上僅為個人紀錄與數據整理，不構成投資建議；投資有風險，請審慎評估。",
    "本文為個人觀點分享，非投資建議，盈虧自負，請自行判斷。",
    "數據整理僅供參考，不構成買賣建議，投資前請審慎評估風險。",
)
RISK_REMINDER = RISK_REMINDERS[0]
NEWS_ITEMS = 2
EMOJI = {"up": "📈", "down": "📉", "flat": "📊", None: "📊"}
# A persona's way into the post; none holds a figure, so every number still comes from the snapshot.
PERSONA_LEADS = {
    "technical": ("從技術面來看這一檔。", "先看線型與量價。", "今天用技術面的角度整理一下。"),
    "fundamental": (
        "從基本面的角度記錄一下今天的表現。",
        "股價波動之外，也要回到公司本身。",
        "先把盤面數字整理好，再回頭看基本面。",
    ),
    "news": ("今天的消息面與盤面整理如下。", "先看盤面，再對照消息。", "盤後快速整理重點。"),
    "chips": ("從成交量看市場的態度。", "今天的量價變化值得記一筆。", "籌碼的動向，先從量能看起。"),
    "macro": (
        "放在大盤與總經的脈絡裡看這一檔。",
        "個股走勢也要放回整體環境來看。",
        "先記錄個股，再看整體市場。",
    ),
    "sentiment": ("市場情緒反映在量價上。", "今天盤面的氣氛可以從這檔看出一些端倪。", "看看市場的溫度。"),
    "value": (
        "長期投資者也可以留意一下今天的價格。",
        "價格是價值的影子，先記下今天的位置。",
        "存股看的是長期，不過今天的數字也記錄一下。",
    ),
}
CLOSINGS = {
    "interactive": (
        "大家怎麼看接下來的走勢？歡迎留言一起討論。",
        "你覺得接下來會怎麼走？歡迎留言聊聊。",
        "有不同看法的朋友，歡迎在下面分享。",
    ),
    "confident": ("後續的量價變化我會持續追蹤。", "接下來幾天的量價我會繼續盯著。", "後面的發展我會再更新。"),
    "neutral": ("先把數據記下來，後續再觀察。", "以上是今天的紀錄，之後再對照。", "先記錄到這裡，後續再看。"),
}


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


def _title(
    stock: Mapping[str, Any], quote: Mapping[str, Any], post_type: str, voice: _Voice, seed: str
) -> str:
    name, code, direction = stock["name"], stock["code"], _direction(quote)
    close = _number(quote["close"])
    if post_type == PostType.NEWS_COMMENTARY:
        title = _pick(
            [f"{name}（{code}）消息面整理", f"{name}（{code}）今日消息與盤面", f"消息面看{name}（{code}）"],
            seed,
        )
    elif direction in ("up", "down") and quote.get("change_pct") is not None:
        move = f"{'上漲' if direction == 'up' else '下跌'}{_number(quote['change_pct'])}%"
        if post_type == PostType.QUESTION:
            options = [f"{name}（{code}）{move}，大家怎麼看？", f"{move}的{name}（{code}），你怎麼看？"]
        else:
            options = [
                f"{name}（{code}）{move}",
                f"{name}（{code}）今日{move}",
                f"{name}（{code}）{move}，收{close}元",
            ]
        title = _pick(options, seed)
    else:
        title = _pick([f"{name}（{code}）收{close}元", f"{name}（{code}）今日收{close}元"], seed)
    return f"{EMOJI[direction]} {title}" if voice.emoji == "heavy" else title


def _move_sentence(
    stock: Mapping[str, Any], quote: Mapping[str, Any], date: str, voice: _Voice, seed: str
) -> str:
    name, close, direction = stock["name"], _number(quote["close"]), _direction(quote)
    if direction is None:
        return _pick([f"{date} {name}收在{close}元。", f"{name}在{date}以{close}元作收。"], seed)
    if direction == "flat":
        return _pick(
            [f"{date} {name}收在{close}元，與前一交易日持平。", f"{name}在{date}平盤作收，收{close}元。"],
            seed,
        )
    up = direction == "up"
    verb = ("上漲" if up else "下跌") if voice.formal else ("漲了" if up else "跌了")
    change = _number(quote["change"])
    pct = _number(quote["change_pct"]) if quote.get("change_pct") is not None else None
    percent = f"（{pct}%）" if pct else ""
    emoji = f" {EMOJI[direction]}" if voice.emoji == "light" else ""
    opening = (
        f"{date} {name}收盤價為{close}元，較前一交易日" if voice.formal else f"{date} {name}收在{close}元，"
    )
    options = [
        f"{opening}{verb}{change}元{percent}。",
        f"{name}在{date}以{close}元作收，{verb}{change}元{percent}。",
        f"{date}收盤：{name}{close}元，比前一個交易日{verb}{change}元{percent}。",
    ]
    return (_pick(options, seed) + emoji).rstrip()


def _trading_sentence(quote: Mapping[str, Any], seed: str) -> str:
    lots = f"{quote['volume_lots']:,}"
    turnover = _number(quote["turnover_100m_twd"]) if quote.get("turnover_100m_twd") is not None else None
    high = _number(quote["high"]) if quote.get("high") is not None else None
    low = _number(quote["low"]) if quote.get("low") is not None else None
    money = f"，成交金額約{turnover}億元" if turnover else ""
    if high is None or low is None:
        return f"成交量約{lots}張{money}。"
    return _pick(
        [
            f"盤中最高{high}元、最低{low}元，成交量約{lots}張{money}。",
            f"成交約{lots}張{money}，盤中高低點分別是{high}元與{low}元。",
            f"今天的高點在{high}元、低點在{low}元；量能約{lots}張{money}。",
        ],
        seed,
    )


def _relation(close: Decimal, average: str, label: str) -> str:
    level = Decimal(average)
    where = "之上" if close > level else "之下" if close < level else "附近"
    return f"{label}（{_number(average)}元）{where}"


def _figures_sentences(
    quote: Mapping[str, Any], figures: Mapping[str, Any], kol: KOL, seed: str
) -> list[str]:
    close = Decimal(quote["close"])
    found: dict[str, str] = {}
    averages = [
        _relation(close, figures[key], label)
        for key, label in (("ma5", "週線"), ("ma20", "月線"))
        if key in figures
    ]
    if averages:
        found["ma"] = (
            _pick(["收盤價位在", "股價目前在", "和均線比較，收在"], seed + ":ma") + "、".join(averages) + "。"
        )
    if "volume_ratio20" in figures:
        ratio = _number(figures["volume_ratio20"])
        found["volume"] = _pick(
            [
                f"今天的量約為近二十日均量的{ratio}倍。",
                f"量能是二十日均量的{ratio}倍。",
                f"和近二十日平均相比，今天的成交量是{ratio}倍。",
            ],
            seed + ":volume",
        )
    if "range_20d" in figures:
        low, high = _number(figures["range_20d"]["low"]), _number(figures["range_20d"]["high"])
        found["range"] = _pick(
            [
                f"近二十個交易日的區間在{low}元到{high}元之間。",
                f"二十日來的高低區間為{low}元至{high}元。",
                f"過去二十個交易日，股價在{low}元與{high}元之間。",
            ],
            seed + ":range",
        )
    # Each persona leads with what it watches; the others in a stable, per-post order.
    first = {"technical": "ma", "chips": "volume", "sentiment": "volume"}.get(kol.persona, "range")
    order = sorted(found, key=lambda key: (key != first, hashlib.sha256(f"{seed}:{key}".encode()).digest()))
    return [found[key] for key in order]


def _news_lines(news: list[Mapping[str, Any]]) -> list[str]:
    lines = ["相關新聞："]
    for item in news[:NEWS_ITEMS]:
        source = f"（{item['source']}）" if item.get("source") else ""
        lines.append(f"・{item['title']}{source}")
    return lines


def _closing(voice: _Voice, seed: str) -> str:
    kind = "interactive" if voice.interactive else "confident" if voice.confident else "neutral"
    return _pick(list(CLOSINGS[kind]), seed)


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
    seed = f"{kol.serial}:{stock['code']}:{quote['date']}:{post_type}"
    phrases = [str(phrase).strip() for phrase in (kol.common_phrases or []) if str(phrase).strip()]
    leads = PERSONA_LEADS.get(kol.persona, PERSONA_LEADS["technical"])
    opening = [_pick(phrases, seed)] if phrases else []
    paragraphs: list[str] = ["".join([*opening, _pick(list(leads), seed + ":lead")])]
    facts = [
        _move_sentence(stock, quote, _date_label(quote["date"]), voice, seed + ":move"),
        _trading_sentence(quote, seed + ":trading"),
    ]
    paragraphs.append("".join([*facts, *_figures_sentences(quote, snapshot.get("figures") or {}, kol, seed)]))
    if post_type == PostType.NEWS_COMMENTARY:
        paragraphs.append("\n".join(_news_lines(news)))
    paragraphs += [_closing(voice, seed + ":closing"), _pick(list(RISK_REMINDERS), seed + ":risk")]
    if kol.signature.strip():
        paragraphs.append(kol.signature.strip())
    body = "\n\n".join(paragraphs)
    return WrittenPost(
        title=_title(stock, quote, post_type, voice, seed + ":title"),
        body=body,
        stance="neutral",
        tags=[str(stock["code"])],
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
    # Seeded by KOL and topic, like stock posts: two personas on one topic do not read alike.
    seed = f"{kol.pk}:{topic}:{post_type}"
    paragraphs += [_closing(voice, seed + ":closing"), _pick(list(RISK_REMINDERS), seed + ":risk")]
    if kol.signature.strip():
        paragraphs.append(kol.signature.strip())
    return WrittenPost(title=f"{topic}：市場觀察", body="\n\n".join(paragraphs), stance="neutral", tags=[])
