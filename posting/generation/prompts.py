"""The messages sent to the model: the active PromptTemplate of a post type, filled in from the KOL's
persona card and the market snapshot.

What the model may claim is decided here, from the snapshot: the market data block lists only the
figures the snapshot holds, and the data rules name every figure that was omitted (with why) plus the
kinds of data we never have (MACD when it is not in the snapshot, institutional flows, target prices...)
as things it must not mention. Text addressed to the model is Traditional Chinese configuration, not
interface text, so it is not translated with the interface language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.exceptions import ServiceError
from kols.models import PostType, PromptTemplate
from kols.prompt_syntax import prompt_render
from kols.services import persona_card_data

if TYPE_CHECKING:
    from kols.models import KOL, Playbook


class PostLength(models.TextChoices):
    SHORT = "short", gettext_lazy("Short (80–150 characters)")
    MEDIUM = "medium", gettext_lazy("Medium (150–300 characters)")
    LONG = "long", gettext_lazy("Long (300–600 characters)")


LENGTH_RANGES = {PostLength.SHORT: (80, 150), PostLength.MEDIUM: (150, 300), PostLength.LONG: (300, 600)}

PERSONA_NAMES = {
    "technical": "技術派",
    "fundamental": "基本面派",
    "news": "消息派",
    "chips": "籌碼派",
    "macro": "總經派",
    "sentiment": "情緒派",
    "value": "價值派",
}
POST_TYPE_NAMES = {"analysis": "個股分析", "question": "互動提問", "news_commentary": "新聞評論"}

# (label, words for 1–3, 4–7, 8–10)
TONE_SCALES = {
    "tone_formal": ("正式程度", "口語隨興，像跟朋友聊天", "自然，口語和書面之間", "正式專業，用詞嚴謹"),
    "tone_emotion": ("情緒", "冷靜克制，不帶情緒", "適度表達情緒", "熱情外放，情緒鮮明"),
    "tone_confidence": (
        "自信",
        "保留謹慎，多用「可能」「或許」",
        "觀點明確但不武斷",
        "篤定有自信（但絕不保證結果）",
    ),
    "tone_urgency": ("節奏", "從容不迫", "節奏適中", "明快，強調當下的變化（但不催促讀者進出場）"),
    "tone_interaction": (
        "互動",
        "以陳述為主，少向讀者提問",
        "偶爾向讀者提問",
        "經常與讀者互動、邀請留言討論",
    ),
}
EMOJI_RULES = {
    "none": "不使用任何表情符號。",
    "light": "最多使用一到兩個表情符號。",
    "heavy": "可以自然地使用多個表情符號。",
}

FIGURE_NAMES = {
    "day_range": "當日高低與振幅",
    "ma5": "5 日均價（週線）",
    "ma20": "20 日均價（月線）",
    "ma60": "60 日均價（季線）",
    "rsi14": "RSI(14)",
    "volume_ratio20": "20 日均量與量比",
    "range_20d": "近 20 日高低區間",
    "macd": "MACD",
    "kd": "KD 指標",
    "news": "新聞",
}
NEVER_AVAILABLE = "布林通道、三大法人買賣超、融資融券、本益比、營收與財報數字、目標價"
MARKET_NAMES = {"TWSE": "上市", "TPEx": "上櫃"}
RECENT_CLOSES = 10


class PromptError(ServiceError):
    code = "prompt_unavailable"
    status_code = 422


@dataclass(frozen=True)
class BuiltPrompt:
    messages: list[dict[str, str]]
    template_version: str
    post_type: str
    persona: dict[str, Any]
    playbook_version: int | None = None


# --- Persona card -----------------------------------------------------------------------------------


def _texts(values: object) -> list[str]:
    if not isinstance(values, list):
        return []
    return [str(value).strip() for value in values if str(value).strip()]


def tone_words(tone: Mapping[str, int]) -> list[str]:
    """Each 1–10 slider as a sentence: "正式程度 8/10：正式專業，用詞嚴謹"."""
    lines = []
    for name, (label, low, middle, high) in TONE_SCALES.items():
        value = int(tone[name])
        words = low if value <= 3 else middle if value <= 7 else high
        lines.append(f"{label} {value}/10：{words}")
    return lines


def persona_card(kol: KOL) -> dict[str, Any]:
    """The persona as data: what the prompt was built from, stored on the post as persona_snapshot."""
    return {"kol_id": kol.pk, **persona_card_data(kol)}


def persona_card_text(card: Mapping[str, Any]) -> str:
    lines = [f"暱稱：{card['nickname']}", f"類型：{PERSONA_NAMES.get(card['persona'], card['persona'])}"]
    for key, label in (("backstory", "背景"), ("content_style", "內容風格"), ("target_audience", "目標讀者")):
        if card[key]:
            lines.append(f"{label}：{card[key]}")
    for key, label in (("style_rules", "風格規則"), ("guardrails", "絕對不做")):
        if card[key]:
            lines.append(f"{label}：")
            lines.extend(f"- {rule}" for rule in card[key])
    lines.append("語氣：")
    lines.extend(f"- {words}" for words in tone_words(card["tone"]))
    if card["common_phrases"]:
        lines.append("常用語（自然地用上一兩句，不要全部塞進去）：" + "、".join(card["common_phrases"]))
    lines.append("表情符號：" + EMOJI_RULES.get(card["emoji_use"], EMOJI_RULES["light"]))
    if card["signature"]:
        lines.append(f"簽名（放在文末）：{card['signature']}")
    return "\n".join(lines)


# --- Market data and the rules for using it ---------------------------------------------------------


def _signed(value: str) -> str:
    return value if value.startswith("-") or value.strip("0.") == "" else f"+{value}"


def _price_lines(quote: Mapping[str, Any]) -> list[str]:
    labels = (("open", "開盤"), ("high", "最高"), ("low", "最低"), ("prev_close", "昨收"))
    parts = [f"{label} {quote[key]}" for key, label in labels if quote[key] is not None]
    lines = [f"收盤價：{quote['close']} 元" + (f"（{'、'.join(parts)}）" if parts else "")]
    if quote["change"] is not None:
        percent = f"（{_signed(quote['change_pct'])}%）" if quote["change_pct"] is not None else ""
        lines.append(f"漲跌：{_signed(quote['change'])} 元{percent}")
    lines.append(
        f"成交量：{quote['volume_lots']:,} 張（{quote['volume']:,} 股）；"
        f"成交金額：{quote['turnover_100m_twd']} 億元（{quote['turnover']:,} 元）"
    )
    return lines


def _figure_lines(figures: Mapping[str, Any]) -> list[str]:
    lines = []
    if "day_range" in figures:
        day = figures["day_range"]
        amplitude = f"，振幅 {day['amplitude_pct']}%" if day["amplitude_pct"] is not None else ""
        lines.append(f"當日高低差：{day['spread']} 元{amplitude}")
    for key in ("ma5", "ma20", "ma60", "rsi14"):
        if key in figures:
            lines.append(f"{FIGURE_NAMES[key]}：{figures[key]}")
    if "volume_avg20_lots" in figures:
        ratio = (
            f"；今日成交量為 20 日均量的 {figures['volume_ratio20']} 倍"
            if "volume_ratio20" in figures
            else ""
        )
        lines.append(f"20 日均量：{figures['volume_avg20_lots']:,} 張{ratio}")
    if "range_20d" in figures:
        lines.append(
            f"近 20 日區間：最低 {figures['range_20d']['low']} 元、最高 {figures['range_20d']['high']} 元"
        )
    return lines


def _topic_data_text(snapshot: Mapping[str, Any]) -> str:
    lines = [f"主題：{snapshot['topic']['title']}（這篇不是談個股）"]
    market = snapshot.get("market")
    if market:
        lines.append(
            f"市場概況（{market['trade_date']}，上市櫃普通股）：{market['stocks_traded']:,} 檔有成交，"
            f"上漲 {market['advancing_stocks']:,} 檔、下跌 {market['declining_stocks']:,} 檔、"
            f"平盤 {market['unchanged_stocks']:,} 檔，成交金額合計 {market['turnover_100m_twd']} 億元"
        )
    else:
        lines.append("市場概況：沒有資料")
    return "\n".join(lines)


def market_data_text(snapshot: Mapping[str, Any]) -> str:
    if snapshot.get("kind") == "topic":
        return _topic_data_text(snapshot)
    stock = snapshot["stock"]
    listing = "，".join(part for part in (MARKET_NAMES.get(stock["market"], ""), stock["industry"]) if part)
    lines = [f"股票：{stock['name']}（{stock['code']}）" + (f"，{listing}" if listing else "")]
    lines.append(f"資料日期：{snapshot['as_of']}（最近一個有成交的交易日）")
    lines += _price_lines(snapshot["quote"])
    lines += _figure_lines(snapshot["figures"])
    recent = snapshot["history"][-RECENT_CLOSES:]
    if len(recent) > 1:
        closes = "、".join(f"{row['date'][5:].replace('-', '/')} {row['close']}" for row in recent)
        lines.append(f"近 {len(recent)} 個交易日收盤價：{closes}")
    return "\n".join(lines)


def _omission(entry: Mapping[str, Any]) -> str:
    name = FIGURE_NAMES.get(entry["name"], entry["name"])
    if entry.get("reason") == "insufficient_history":
        return f"{name}（需要 {entry['needs_days']} 個交易日，資料只有 {entry['have_days']} 個）"
    return name


def data_rules_text(snapshot: Mapping[str, Any]) -> str:
    available = [FIGURE_NAMES[key] for key in FIGURE_NAMES if key in snapshot["figures"]]
    omitted = [_omission(entry) for entry in snapshot["omitted"] if entry["name"] != "news"]
    lines = [
        "資料使用規則：",
        "- 文中的每一個價格、漲跌、百分比、成交量與成交金額都必須來自「市場資料」（可以四捨五入，或把股換算成張、"
        "把元換算成萬或億）；不得自行推算或編造其他數字。",
        "- 可以引用的技術數據只有：" + ("、".join(available) if available else "無") + "。",
        "- 下列項目不在資料中，不得提及、暗示或推測：" + "、".join([*omitted, NEVER_AVAILABLE]) + "。",
    ]
    if snapshot["news"]:
        lines.append("- 新聞只能引用「相關新聞」中列出的標題與摘要，不得補充新聞沒有寫的細節。")
    else:
        lines.append("- 這次沒有提供任何新聞：不得提及新聞、消息面、傳聞或公司公告。")
    return "\n".join(lines)


def news_text(news: Sequence[Mapping[str, str]]) -> str:
    lines = []
    for number, item in enumerate(news, start=1):
        origin = "｜".join(
            part for part in (item.get("source", ""), item.get("published_at", "")[:10]) if part
        )
        lines.append(f"{number}. {item['title']}" + (f"（{origin}）" if origin else ""))
        if item.get("summary"):
            lines.append(f"   摘要：{item['summary']}")
    return "\n".join(lines)


def playbook_text(lines: Sequence[str]) -> str:
    """The active playbook as guidance: summaries of what worked, never the text of past posts."""
    if not lines:
        return ""
    body = "\n".join(f"- {line}" for line in lines)
    return (
        "寫作建議（由這個帳號過往貼文的成效整理出的摘要；自然地參考，不要照抄，也不得因此違反上面的資料規則）：\n"
        + body
    )


def trigger_text(reasons: Sequence[str]) -> str:
    return "\n".join(f"- {reason}" for reason in reasons) if reasons else "- （排程沒有附上特別的原因）"


# --- Building the messages --------------------------------------------------------------------------


def prompt_context(
    *,
    kol: KOL,
    snapshot: Mapping[str, Any],
    post_type: str,
    length: str = PostLength.MEDIUM,
    playbook_lines: Sequence[str] = (),
) -> dict[str, Any]:
    """Exactly the variables listed in kols.prompt_syntax.PROMPT_VARIABLES."""
    card = persona_card(kol)
    length_min, length_max = LENGTH_RANGES[PostLength(length)]
    return {
        "kol_name": card["nickname"],
        "persona": PERSONA_NAMES.get(card["persona"], card["persona"]),
        "persona_card": persona_card_text(card),
        "backstory": card["backstory"],
        "content_style": card["content_style"],
        "target_audience": card["target_audience"],
        "style_rules": card["style_rules"],
        "guardrails": card["guardrails"],
        "tone": tone_words(card["tone"]),
        "signature": card["signature"],
        "common_phrases": card["common_phrases"],
        "emoji_rule": EMOJI_RULES.get(card["emoji_use"], EMOJI_RULES["light"]),
        "post_type": POST_TYPE_NAMES[post_type],
        # A topic post has no stock: its "stock" is the topic, with no code.
        "stock_code": snapshot["stock"]["code"] if snapshot.get("kind") != "topic" else "",
        "stock_name": snapshot["stock"]["name"]
        if snapshot.get("kind") != "topic"
        else snapshot["topic"]["title"],
        "market_data": market_data_text(snapshot),
        "data_rules": data_rules_text(snapshot),
        "has_news": bool(snapshot["news"]),
        "news_block": news_text(snapshot["news"]),
        "trigger_reasons": list(snapshot["trigger"]["reasons"]),
        "trigger_block": trigger_text(snapshot["trigger"]["reasons"]),
        "length_min": length_min,
        "length_max": length_max,
        "has_playbook": bool(playbook_lines),
        "playbook_block": playbook_text(playbook_lines),
    }


def active_template(post_type: str) -> PromptTemplate:
    if post_type not in PostType.values:
        raise PromptError(
            _("Unknown post type %(type)r; expected one of %(choices)s.")
            % {"type": post_type, "choices": ", ".join(PostType.values)}
        )
    template = PromptTemplate.objects.filter(post_type=post_type, is_active=True).first()
    if template is None:
        raise PromptError(
            _("No active prompt template for post type %(type)s: activate one in the admin.")
            % {"type": post_type}
        )
    return template


def prompt_build(
    *,
    kol: KOL,
    post_type: str,
    snapshot: Mapping[str, Any],
    length: str = PostLength.MEDIUM,
    playbook: Playbook | None = None,
) -> BuiltPrompt:
    """System and user messages from the active template, and the template version to record on the post."""
    template = active_template(post_type)
    if length not in PostLength.values:
        raise PromptError(
            _("Unknown post length %(length)r; expected one of %(choices)s.")
            % {"length": length, "choices": ", ".join(PostLength.values)}
        )
    if post_type == PostType.NEWS_COMMENTARY and not snapshot.get("news"):
        raise PromptError(
            _("A news commentary needs news, and the snapshot for %(code)s has none.")
            % {"code": (snapshot.get("stock") or snapshot.get("topic") or {}).get("code", "?")}
        )
    try:
        context = prompt_context(
            kol=kol,
            snapshot=snapshot,
            post_type=post_type,
            length=length,
            playbook_lines=list(playbook.lines) if playbook else (),
        )
    except KeyError as exc:
        raise PromptError(_("The market snapshot is missing %(key)s.") % {"key": exc}) from exc
    user = prompt_render(template.user_prompt, context)
    uses_block = "playbook_block" in template.system_prompt or "playbook_block" in template.user_prompt
    if context["playbook_block"] and not uses_block:
        # Templates written before playbooks existed get the guidance appended, not silently dropped.
        user = f"{user}\n\n{context['playbook_block']}"
    messages = [
        {"role": "system", "content": prompt_render(template.system_prompt, context)},
        {"role": "user", "content": user},
    ]
    return BuiltPrompt(
        messages=messages,
        template_version=template.version,
        post_type=post_type,
        persona=persona_card(kol),
        playbook_version=playbook.version if playbook else None,
    )
