"""Turning a model's answer into a draft: find the JSON, validate it, clean the text.

Models wrap their answer in preambles ("Here is the post in the voice of …", "以下是…的貼文："), code
fences, Markdown and sign-offs ("希望這篇貼文符合您的需求"); none of that may reach a forum. Validation
errors are written for the model (in Traditional Chinese), because the client quotes them back to it in
its one repair re-ask.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from posting.tags import STANCES, TagError, bare_stock_code

TITLE_MAX_CHARS = 200

DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "body": {"type": "string"},
        "stance": {"type": "string", "enum": list(STANCES)},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "body", "stance", "tags"],
    "additionalProperties": False,
}

# Addressed to the model, not to a user: deliberately not translated with the interface language.
FORMAT_INSTRUCTION = (
    "輸出格式：只回覆一個 JSON 物件，不要任何前言、說明、Markdown 或程式碼區塊。欄位如下：\n"
    '"title"：貼文標題（純文字）；\n'
    '"body"：貼文內文（純文字，用換行分段，不使用 #、**、- 等 Markdown 符號）；\n'
    '"stance"："bullish"（看多）、"bearish"（看空）或 "neutral"（中立）；\n'
    '"tags"：文中討論的台股代號陣列，只寫代號，例如 ["2330"]。'
)


@dataclass(frozen=True)
class LLMDraft:
    title: str
    body: str
    stance: str
    tags: list[str]


class DraftInvalid(Exception):
    """The answer could not be turned into a draft; the message is quoted back to the model."""


_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_FENCE = re.compile(r"```[\w-]*[ \t]*\n?(.*?)```", re.S)
_FENCE_LINE = re.compile(r"^[ \t]*```[\w-]*[ \t]*$", re.M)
_DECODER = json.JSONDecoder()


def strip_reasoning(text: str) -> str:
    """Reasoning models (DeepSeek-R1 and friends) put their thinking in <think> blocks."""
    return _THINK.sub("", text)


def _json_object(content: str) -> dict[str, Any]:
    text = strip_reasoning(content).strip()
    fenced = _FENCE.search(text)
    for candidate in ([fenced.group(1)] if fenced else []) + [text]:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _end = _DECODER.raw_decode(candidate, start)
            except json.JSONDecodeError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    raise DraftInvalid("回覆中找不到 JSON 物件")


def _text_field(data: Mapping[str, Any], name: str, errors: list[str]) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        errors.append(f'"{name}" 必須是非空字串')
        return ""
    return value


def _stance(data: Mapping[str, Any], errors: list[str]) -> str:
    value = data.get("stance")
    stance = value.strip().lower() if isinstance(value, str) else ""
    if stance not in STANCES:
        errors.append(
            f'"stance" 必須是 bullish、bearish 或 neutral，收到 {json.dumps(value, ensure_ascii=False)}'
        )
    return stance


def _tags(data: Mapping[str, Any], errors: list[str]) -> list[str]:
    value = data.get("tags", [])
    if not isinstance(value, list):
        errors.append('"tags" 必須是股票代號的陣列')
        return []
    codes: list[str] = []
    for item in value:
        try:
            codes.append(bare_stock_code(str(item)))
        except TagError:
            errors.append(f'"tags" 中的 {json.dumps(item, ensure_ascii=False)} 不是台股代號')
    return list(dict.fromkeys(codes))


def parse_draft(content: str) -> LLMDraft:
    """Validate an answer into a draft, cleaning the title and body; DraftInvalid says what was wrong."""
    data = _json_object(content)
    errors: list[str] = []
    title = clean_title(_text_field(data, "title", errors))
    body = clean_body(_text_field(data, "body", errors), title=title)
    stance = _stance(data, errors)
    tags = _tags(data, errors)
    if not errors and not title:
        errors.append('"title" 清除格式後是空的')
    if not errors and not body:
        errors.append('"body" 去掉前言與格式後是空的')
    if len(title) > TITLE_MAX_CHARS:
        errors.append(f'"title" 超過 {TITLE_MAX_CHARS} 字')
    if errors:
        raise DraftInvalid("；".join(errors))
    return LLMDraft(title=title, body=body, stance=stance, tags=tags)


# Preambles: an assistant acknowledging the request instead of writing the post.
_ACK_ONLY = re.compile(
    r"^(?:sure|certainly|okay|ok|of course|absolutely|alright|好的|好|當然|当然|沒問題|没问题|收到)"
    r"\s*[!！.。,，~～]*$",
    re.I,
)
# Conversational openers; "這是…" / "這篇…" only count when a colon closes the preamble.
_LEAD_ACK = re.compile(
    r"^(?:(?:sure|certainly|okay|ok|of course|absolutely|alright)\b|here(?:'s|\s+is|\s+are)\b|below\s+is\b"
    r"|the\s+following\b|as\s+requested\b|以下(?:是|為|为)|下面(?:是|為|为)"
    r"|(?:好的|當然|当然|沒問題|没问题|收到)[\s,，!！。~～]|根據您|依照您|按照您|為您|为您)",
    re.I,
)
_LEAD_THIS = re.compile(r"^(?:這是|这是|這篇|这篇|這裡是|这里是)")
_META = re.compile(
    r"post|article|draft|voice|persona|style|tone|as requested|you asked"
    r"|貼文|帖子|文章|草稿|內容|内容|語氣|语气|口吻|風格|风格|角色|人設|人设|撰寫|撰写|您要|您的要求|版本",
    re.I,
)
# Without a colon only unmistakable words count: "內容" or "風格" alone also begin real posts.
_META_STRONG = re.compile(
    r"\bpost\b|draft|in the voice|persona|as requested|you asked|貼文|帖子|草稿|口吻|語氣|语气|人設|人设|撰寫|撰写|為您|为您|您要",
    re.I,
)
_POSTAMBLE = re.compile(
    r"^(?:希望(?:這篇|这篇|以上)?.{0,10}(?:符合|滿足|满足)|如(?:果)?(?:需要|需)(?:調整|调整|修改|更改)|需要我|要不要我"
    r"|let me know|i hope this|hope this helps|feel free)",
    re.I,
)
_TITLE_QUOTES = (("「", "」"), ("『", "』"), ('"', '"'), ("“", "”"))
_LABEL = re.compile(r"^(?:標題|标题|title|內文|内文|正文|body)\s*[:：]\s*", re.I)

_RULE = re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*$", re.M)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", re.M)
_BULLET = re.compile(r"^[ \t]*[-*+•][ \t]+", re.M)
_QUOTE = re.compile(r"^[ \t]*>[ \t]?", re.M)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\((\S+?)\)")
_BLANK_LINES = re.compile(r"\n{3,}")


def strip_markdown(text: str) -> str:
    text = _RULE.sub("", text)
    text = _HEADING.sub(r"\1", text)
    text = _BULLET.sub("", text)
    text = _QUOTE.sub("", text)
    text = _BOLD.sub(r"\2", text)
    text = _ITALIC.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    return _LINK.sub(r"\1 \2", text)


def _preamble_split(line: str) -> str | None:
    """What is left of ``line`` after a preamble, or None when the line does not start with one."""
    stripped = line.strip()
    if _ACK_ONLY.match(stripped):
        return ""
    ack = bool(_LEAD_ACK.match(stripped))
    if not ack and not _LEAD_THIS.match(stripped):
        return None
    colon = min((i for i in (stripped.find(":"), stripped.find("：")) if i >= 0), default=-1)
    if 0 <= colon <= 120 and _META.search(stripped[:colon]):
        return stripped[colon + 1 :].strip()
    if ack and colon < 0 and len(stripped) <= 120 and _META_STRONG.search(stripped):
        return ""
    return None


def _drop_preambles(lines: list[str], title: str) -> list[str]:
    for _round in range(4):
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            break
        first = lines[0].strip()
        if title and first == title:
            lines.pop(0)
            continue
        if _LABEL.match(first):
            rest = _LABEL.sub("", first, count=1)
            lines[0] = "" if title and rest == title else rest
            continue
        remainder = _preamble_split(first)
        if remainder is None:
            break
        lines[0] = remainder
    return lines


def _drop_postambles(lines: list[str]) -> list[str]:
    while lines and (not lines[-1].strip() or _POSTAMBLE.match(lines[-1].strip())):
        lines.pop()
    return lines


def clean_body(text: str, *, title: str = "") -> str:
    """Plain text: no reasoning, fences, Markdown, preamble ("以下是…的貼文：") or sign-off to the requester."""
    text = strip_reasoning(text).replace("\r\n", "\n")
    text = _FENCE_LINE.sub("", text)
    text = strip_markdown(text)
    lines = _drop_postambles(_drop_preambles(text.split("\n"), title))
    text = "\n".join(line.rstrip() for line in lines)
    return _BLANK_LINES.sub("\n\n", text).strip()


def clean_title(text: str) -> str:
    text = strip_markdown(strip_reasoning(text)).strip()
    text = _LABEL.sub("", text, count=1)
    text = " ".join(text.split())
    for opening, closing in _TITLE_QUOTES:
        if len(text) > 2 and text.startswith(opening) and text.endswith(closing):
            text = text[1:-1].strip()
    return text
