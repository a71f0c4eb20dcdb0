"""Quality 0–1 and machine-text 0–1, each the weighted mean of measured parts kept in a breakdown.

Machine text (higher = more machine-like):
- ``stock_phrases`` (0.35): AI-ish stock phrases (「總的來說」「值得注意的是」「綜上所述」 …) per sentence; one
  in every two sentences scores 1.
- ``uniformity`` (0.30): sentence lengths that hardly vary; 1 − (coefficient of variation ÷ 0.6), from 4
  sentences up (people mix short and long sentences; models keep them even).
- ``repetition`` (0.20): the share of 6-character sequences that repeat an earlier one; 25% scores 1.
- ``markdown`` (0.15): headings, bold, bullet or numbered lists, emoji bullets (forum posts are prose).

Quality (higher = better):
- ``length`` (0.20): 1 inside the post type's length band, falling off linearly outside it.
- ``title`` (0.15): 1 minus deductions: shorter than 6 or longer than 40 characters, the body's first words,
  runs of !/? or clickbait words.
- ``grounding`` (0.25): grounded figures ÷ checked figures; 0.5 when the text has no figures (nothing
  verifiable); not measured without a snapshot.
- ``persona`` (0.15): the KOL's signature and at least one of their common phrases present; not measured
  without a KOL or when the persona card has neither.
- ``human_voice`` (0.25): 1 − machine-text score.

A part that cannot be measured gets weight 0 and the others share its weight.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from functools import lru_cache

from kols.models import KOL
from posting.checks.text import fold, fold_for_similarity, fold_phrase, words
from posting.checks.types import Part, weighted_score

# (min, max) characters of body text, spaces excluded.
LENGTH_BANDS: dict[str, tuple[int, int]] = {
    "analysis": (150, 700),
    "question": (30, 250),
    "news": (120, 600),
    "": (60, 800),
}
STOCK_PHRASES = (
    *words(
        """
    總的來說 總而言之 綜上所述 總結來說 總結而言 簡而言之 值得注意的是 需要注意的是 值得一提的是 值得關注的是 讓我們 不難看出
    由此可見 不可否認 毋庸置疑 顯而易見 至關重要 扮演著重要 扮演關鍵 深入探討 深入分析 全面分析 一起來看看 接下來我們
    首先， 其次， 此外， 與此同時 綜合來看 整體而言 整體來看 在當今 隨著科技 希望這篇 希望對你有幫助 希望對大家有幫助
    以上分析 以下是 作為一個 作為一名 密切關注 持續關注 謹慎樂觀 審慎樂觀
    """
    ),
    "in conclusion",
    "it is worth noting",
    "it's worth noting",
    "let's",
    "overall,",
    "delve",
    "in summary",
    "furthermore",
    "moreover",
    "it's important to note",
)
_CLICKBAIT = re.compile(r"[!?！？]{2,}|…{2,}|\.{4,}|(震驚|驚爆|必看|不看後悔|你絕對不知道|快看|瘋傳|爆料)")
_SENTENCE_END = re.compile(r"[。！？!?；;\n…]+")
_MARKDOWN = {
    "heading": re.compile(r"(?m)^\s{0,3}#{1,6}\s"),
    "bold": re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__"),
    "bullet": re.compile(r"(?m)^\s*[-*•●▪︎]\s+\S"),
    "numbered": re.compile(r"(?m)^\s*\d{1,2}[.)、]\s*\S"),
    "emoji_bullet": re.compile(r"(?m)^\s*[✅✔️👉📈📉🔥💡📌⭐️✨🚀]"),
}
MACHINE_WEIGHTS = {"stock_phrases": 0.35, "uniformity": 0.30, "repetition": 0.20, "markdown": 0.15}
QUALITY_WEIGHTS = {"length": 0.20, "title": 0.15, "grounding": 0.25, "persona": 0.15, "human_voice": 0.25}


@lru_cache(maxsize=1)
def _folded_stock_phrases() -> tuple[tuple[str, str], ...]:
    return tuple(
        (phrase, fold_phrase(phrase) if not phrase.isascii() else phrase) for phrase in STOCK_PHRASES
    )


def sentences(text: str) -> list[str]:
    return [piece.strip() for piece in _SENTENCE_END.split(text) if len(piece.strip()) >= 2]


def _clamp(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 4)


# --- Machine text -----------------------------------------------------------------------------------


def _stock_phrases(body: str, count: int) -> Part:
    folded, lowered = fold(body).text, body.lower()
    hits: dict[str, int] = {}
    for phrase, key in _folded_stock_phrases():
        found = (lowered if key.isascii() else folded).count(key)
        if found:
            hits[phrase] = found
    occurrences = sum(hits.values())
    detail = f"{occurrences} in {count} sentences" + (f": {', '.join(list(hits)[:8])}" if hits else "")
    return Part(_clamp(occurrences / max(1, count) * 2), MACHINE_WEIGHTS["stock_phrases"], detail)


def _uniformity(parts: Sequence[str]) -> Part:
    if len(parts) < 4:
        return Part(None, MACHINE_WEIGHTS["uniformity"], f"{len(parts)} sentences; needs 4")
    lengths = [len(re.sub(r"\s", "", part)) for part in parts]
    mean = statistics.fmean(lengths)
    variation = statistics.pstdev(lengths) / mean if mean else 0.0
    return Part(
        _clamp(1 - variation / 0.6),
        MACHINE_WEIGHTS["uniformity"],
        f"sentence length mean {mean:.1f}, coefficient of variation {variation:.2f}",
    )


def _repetition(body: str) -> Part:
    letters = fold_for_similarity(body)
    grams = [letters[i : i + 6] for i in range(len(letters) - 5)]
    if len(grams) < 20:
        return Part(None, MACHINE_WEIGHTS["repetition"], "too short to measure")
    seen: set[str] = set()
    repeats = 0
    for gram in grams:
        repeats += gram in seen
        seen.add(gram)
    share = repeats / len(grams)
    return Part(_clamp(share / 0.25), MACHINE_WEIGHTS["repetition"], f"{share:.0%} of 6-grams repeat")


def _markdown(body: str) -> Part:
    found = {name: len(pattern.findall(body)) for name, pattern in _MARKDOWN.items()}
    kinds = [name for name, count in found.items() if count]
    total = sum(found.values())
    value = 1.0 if len(kinds) >= 2 or total >= 3 else 0.5 if total else 0.0
    return Part(value, MACHINE_WEIGHTS["markdown"], ", ".join(kinds) or "none")


def machine_text_score(*, body: str) -> tuple[float, dict[str, Part]]:
    parts = sentences(body)
    return weighted_score(
        {
            "stock_phrases": _stock_phrases(body, len(parts)),
            "uniformity": _uniformity(parts),
            "repetition": _repetition(body),
            "markdown": _markdown(body),
        }
    )


# --- Quality ----------------------------------------------------------------------------------------


def _length(body: str, post_type: str) -> Part:
    low, high = LENGTH_BANDS.get(post_type, LENGTH_BANDS[""])
    length = len(re.sub(r"\s", "", body))
    if length < low:
        value = length / low
    elif length > high:
        value = 1 - (length - high) / high
    else:
        value = 1.0
    return Part(
        _clamp(value),
        QUALITY_WEIGHTS["length"],
        f"{length} characters; band {low}–{high} ({post_type or 'default'})",
    )


def _title(title: str, body: str) -> Part:
    stripped = re.sub(r"\s", "", title)
    if not stripped:
        return Part(0.0, QUALITY_WEIGHTS["title"], "empty")
    value, reasons = 1.0, list[str]()
    if not 6 <= len(stripped) <= 40:
        value, reasons = value - 0.3, [*reasons, f"{len(stripped)} characters (6–40)"]
    folded_title = fold_for_similarity(title)
    if folded_title and fold_for_similarity(body).startswith(folded_title):
        value, reasons = value - 0.4, [*reasons, "repeats the body's first words"]
    if _CLICKBAIT.search(title):
        value, reasons = value - 0.3, [*reasons, "clickbait punctuation or words"]
    return Part(_clamp(value), QUALITY_WEIGHTS["title"], "; ".join(reasons) or "ok")


def _grounding(ratio: float | None, checked: bool, counted: int) -> Part:
    if not checked:
        return Part(None, QUALITY_WEIGHTS["grounding"], "no snapshot")
    if not counted:
        return Part(0.5, QUALITY_WEIGHTS["grounding"], "no figures to verify")
    return Part(
        _clamp(ratio or 0.0), QUALITY_WEIGHTS["grounding"], f"{ratio:.0%} of {counted} figures grounded"
    )


def _persona(body: str, kol: KOL | None) -> Part:
    if kol is None:
        return Part(None, QUALITY_WEIGHTS["persona"], "no KOL given")
    folded = fold(body).text
    checks: list[tuple[str, bool]] = []
    if kol.signature.strip():
        checks.append(("signature", fold_phrase(kol.signature.strip()) in folded))
    phrases = [p for p in (kol.common_phrases or []) if isinstance(p, str) and p.strip()]
    if phrases:
        checks.append(("common phrase", any(fold_phrase(p.strip()) in folded for p in phrases)))
    if not checks:
        return Part(None, QUALITY_WEIGHTS["persona"], "persona card has no signature or common phrases")
    present = [name for name, ok in checks if ok]
    return Part(
        _clamp(len(present) / len(checks)),
        QUALITY_WEIGHTS["persona"],
        ", ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in checks),
    )


def quality_score(
    *,
    title: str,
    body: str,
    post_type: str,
    grounding_ratio: float | None,
    grounding_checked: bool,
    figures_counted: int,
    kol: KOL | None,
    machine_score: float,
) -> tuple[float, dict[str, Part]]:
    return weighted_score(
        {
            "length": _length(body, post_type),
            "title": _title(title, body),
            "grounding": _grounding(grounding_ratio, grounding_checked, figures_counted),
            "persona": _persona(body, kol),
            "human_voice": Part(
                _clamp(1 - machine_score), QUALITY_WEIGHTS["human_voice"], "1 − machine-text score"
            ),
        }
    )
