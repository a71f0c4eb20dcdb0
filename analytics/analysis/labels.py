"""How feature values read: for people in the admin (translated) and in the zh-Hant suggestion sentences."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from kols.models import Persona, PostType

WEEKDAYS_ZH = ("週一", "週二", "週三", "週四", "週五", "週六", "週日")
PERSONAS_ZH = {
    "technical": "技術派",
    "fundamental": "基本面派",
    "news": "消息派",
    "chips": "籌碼派",
    "macro": "總經派",
    "sentiment": "情緒派",
    "value": "價值派",
}
POST_TYPES_ZH = {"analysis": "個股分析", "question": "互動提問", "news_commentary": "新聞評論"}
CAPS_ZH = {
    "small": "小型股（市值 100 億以下）",
    "mid": "中型股（市值 100–1000 億）",
    "large": "大型股（市值 1000 億以上）",
}
STANCES_ZH = {"bull": "看多", "bear": "看空", "neutral": "中立"}
EDITED_ZH = {"none": "未經修改", "light": "小幅修改（20 字以內）", "medium": "中度修改", "heavy": "大幅修改"}
EMOJI_ZH = {"0": "不用表情符號", "1-2": "用一到兩個表情符號", "3+": "用三個以上表情符號"}


def _weekdays() -> tuple[str, ...]:
    return (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday"))


def value_label(feature: str, value: object) -> str:
    """The value as people read it in the admin and the API ("Wednesday", "20:00", "Yes")."""
    if value in ("", None):
        return _("(none)")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if feature == "weekday" and isinstance(value, int):
        return _weekdays()[value]
    if feature == "hour":
        return f"{int(str(value)):02d}:00"
    if feature == "persona":
        return str(Persona(value).label) if value in Persona.values else str(value)
    if feature == "post_type":
        return str(PostType(value).label) if value in PostType.values else str(value)
    return str(value)


def subject_zh(feature: str, value: object, label: str) -> str:
    """The subject of a zh-Hant suggestion: 「以問句結尾的貼文」, 「週三發布的貼文」. Text for the model and
    the playbook, always zh-Hant (like the prompts), so not translated with the interface language."""
    text = str(value)
    phrases: dict[str, Callable[[], str]] = {
        "ends_with_question": lambda: "以問句結尾" if value else "不以問句結尾",
        "has_news": lambda: "有新聞題材" if value else "沒有新聞題材",
        "weekday": lambda: f"{WEEKDAYS_ZH[int(text)]}發布",
        "hour": lambda: f"在 {int(text):02d} 點發布",
        "persona": lambda: f"{PERSONAS_ZH.get(text, text)}人設",
        "post_type": lambda: f"「{POST_TYPES_ZH.get(text, text)}」類型",
        "market_cap": lambda: f"談{CAPS_ZH.get(text, text)}",
        "stance": lambda: f"立場{STANCES_ZH.get(text, text)}",
        "edited": lambda: EDITED_ZH.get(text, text),
        "emoji": lambda: EMOJI_ZH.get(text, text),
        "title_length": lambda: f"標題長度 {text} 字",
        "body_length": lambda: f"內文長度 {text} 字",
        "industry": lambda: f"談{text}產業",
        "trigger_type": lambda: f"由「{text}」觸發",
        "kol": lambda: f"由「{label}」發布",
        "content_style": lambda: f"內容風格為「{text}」",
        "prompt_version": lambda: f"用提示詞 {text} 產生",
        "llm_model": lambda: f"用模型 {text} 產生",
        "generator": lambda: f"產生方式為 {text}",
    }
    build = phrases.get(feature)
    phrase = build() if build and value not in ("", None) else f"{feature}={label}"
    return f"{phrase}的貼文"
