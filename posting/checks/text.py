"""Text folding shared by the checks.

Writers dodge word lists with full-width letters, spaces or dots between characters and Simplified
characters; the checks therefore match against a *folded* copy of the text and keep, for every folded
character, the offset of the original character it came from, so a finding can point at the original words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc

# Zero-width characters are invisible separators: always dropped.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
# Characters used to split a word ("保.證.獲.利", "加-賴"): dropped only between two Chinese characters.
_FILLERS = frozenset(".·•‧・*_~-—–|/\\'\"`^＊～")
# Japanese and variant forms OpenCC leaves alone, mapped to the Traditional form before simplifying.
_VARIANTS = str.maketrans("穏険売読説証歩", "穩險賣讀說證步")
_CLAUSE_BREAKS = frozenset("。！？!?；;\n，,、：:")
_SENTENCE_BREAKS = frozenset("。！？!?；;\n")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FA1F


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


@dataclass(frozen=True)
class Folded:
    """A folded text and, for each of its characters, the index of the original character."""

    text: str
    origin: tuple[int, ...]
    original_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original (start, end) of the folded slice text[start:end]."""
        if start >= len(self.origin):
            return self.original_length, self.original_length
        last = self.origin[max(start, end - 1)] if end > start else self.origin[start]
        return self.origin[start], last + 1


def _width_fold(text: str) -> tuple[str, list[int]]:
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char in _INVISIBLE:
            continue
        folded = unicodedata.normalize("NFKC", char).lower() if not is_cjk(char) else char
        for piece in folded:
            chars.append(piece)
            origin.append(index)
    return "".join(chars), origin


def _simplify(text: str) -> str:
    text = text.translate(_VARIANTS)
    converted = to_simplified(text)
    if len(converted) == len(text):
        return converted
    # A phrase conversion changed the length: fall back to one character at a time, which keeps offsets.
    return "".join(to_simplified(char)[:1] or char for char in text)


def _compact(text: str, origin: list[int]) -> tuple[str, list[int]]:
    """Drop spaces next to a Chinese character and filler punctuation between two Chinese characters."""
    kept: list[str] = []
    kept_origin: list[int] = []
    length = len(text)
    for index, char in enumerate(text):
        if char.isspace() or char in _FILLERS:
            before = kept[-1] if kept else ""
            after = _next_solid(text, index + 1, length)
            cjk_before = bool(before) and is_cjk(before)
            cjk_after = bool(after) and is_cjk(after)
            if char.isspace() and (cjk_before or cjk_after):
                continue
            if char in _FILLERS and cjk_before and cjk_after:
                continue
            if char.isspace() and kept and kept[-1] == " ":
                continue
            char = " " if char.isspace() else char
        kept.append(char)
        kept_origin.append(origin[index])
    return "".join(kept), kept_origin


def _next_solid(text: str, index: int, length: int) -> str:
    while index < length and (text[index].isspace() or text[index] in _FILLERS):
        index += 1
    return text[index] if index < length else ""


def fold(text: str) -> Folded:
    """Full-width to half-width, lower case, Simplified characters, no spaces or fillers between words."""
    width_folded, origin = _width_fold(text)
    simplified = _simplify(width_folded)
    compact, compact_origin = _compact(simplified, origin)
    return Folded(text=compact, origin=tuple(compact_origin), original_length=len(text))


@lru_cache(maxsize=4096)
def fold_phrase(phrase: str) -> str:
    return fold(phrase).text


@lru_cache(maxsize=4096)
def fold_pattern(pattern: str) -> str:
    """Fold a regular expression the way text is folded, without touching its syntax.

    Only Chinese characters are simplified and only full-width letters and digits narrowed: lower-casing
    would turn ``\\D`` into ``\\d`` (patterns are compiled case-insensitive instead), and narrowing
    full-width brackets would turn them into regex syntax. Literal spaces are removed next to Chinese
    characters, as in the text.
    """
    narrowed = "".join(
        chr(ord(char) - 0xFEE0) if "\uff10" <= char <= "\uff5a" and char.isalnum() else char
        for char in pattern
    )
    simplified = to_simplified(narrowed)
    return re.sub(r"(?<=[\u3400-\u9fff]) +| +(?=[\u3400-\u9fff])", "", simplified)


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause (between commas, full stops, line breaks …) around text[start:end]."""
    left = start
    while left > 0 and text[left - 1] not in _CLAUSE_BREAKS:
        left -= 1
    right = end
    while right < len(text) and text[right] not in _CLAUSE_BREAKS:
        right += 1
    return left, right


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = start
    while left > 0 and text[left - 1] not in _SENTENCE_BREAKS:
        left -= 1
    right = end
    while right < len(text) and text[right] not in _SENTENCE_BREAKS:
        right += 1
    return left, right


_NON_LETTERS = re.compile(r"[^\w]|[\d_]", re.UNICODE)


def fold_for_similarity(text: str) -> str:
    """Letters only: Simplified, half-width, lower case; digits, punctuation, spaces and emoji removed."""
    narrowed = unicodedata.normalize("NFKC", text).lower()
    return _NON_LETTERS.sub("", to_simplified(narrowed))


def words(text: str) -> tuple[str, ...]:
    """Whitespace-separated word lists, so long lists of Chinese phrases stay readable in the source."""
    return tuple(text.split())
