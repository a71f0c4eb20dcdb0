"""Near-duplicates: the same text under another persona, or a template repeated with other numbers.

Texts are compared after folding (Simplified = Traditional, half-width, lower case, only letters: digits,
punctuation, spaces and emoji removed). The similarity of two texts is the larger of

- the normalised Indel similarity of the folded strings (rapidfuzz ``fuzz.ratio``): edits and rewording;
- the Dice coefficient of their character 3-gram sets: the same sentences in another order.

A heavier paraphrase (many words swapped in every sentence, the structure and facts kept) falls under
both. It is caught sentence by sentence: when nearly every sentence of each text has a counterpart in the
other (``PARAPHRASE_SENTENCE_MATCH``) and the sentences, weighted by length, are on average similar
(``PARAPHRASE_ALIGNED``), the texts are paraphrases. Different analyses of the same stock share the
sentence with the day's figures and the risk reminder, but not the rest, so they stay apart.

Thousands of recent posts stay cheap: folded forms and 3-gram sets are cached per post version, a length
bound drops texts that cannot reach the threshold, and the string comparison runs only for texts whose
3-gram overlap makes a match possible.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from posting.checks.text import fold_for_similarity
from posting.checks.types import Finding, Severity
from posting.models import Post

_CACHE_SIZE = 50_000
_FETCH_CHUNK = 500
_MAX_FINDINGS = 3
# 3-gram Dice runs well below the string similarity when edits are spread out (every 7th character
# changed: ratio ≈ 0.86, Dice ≈ 0.55), so the string comparison starts this far under the threshold.
_DICE_MARGIN = 0.4
# A sentence "has a counterpart" at this string similarity; texts are paraphrases when sentences making up
# PARAPHRASE_SENTENCE_MATCH of each text's length have one and their length-weighted mean similarity
# reaches PARAPHRASE_ALIGNED (the test families: paraphrases ≥ 0.8 / 0.7, different analyses ≤ 0.43 / 0.67).
_COUNTERPART = 0.5
PARAPHRASE_SENTENCE_MATCH = 0.75
PARAPHRASE_ALIGNED = 0.6
_PARAPHRASE_MIN_SENTENCES = 3
# Paraphrases in the test families share ≥ 0.39 of their 3-grams; texts below this are not compared by sentence.
_PARAPHRASE_DICE_FLOOR = 0.25
_SENTENCE_SPLIT = re.compile(r"[。！？!?；;\n]+|(?<=[a-z])\.\s")


@dataclass(frozen=True)
class Folded:
    text: str
    shingles: frozenset[str]
    sentences: tuple[str, ...] = ()


def fold_text(title: str, body: str) -> Folded:
    text = fold_for_similarity(f"{title}\n{body}")
    sentences = tuple(
        folded for part in _SENTENCE_SPLIT.split(f"{title}\n{body}") if (folded := fold_for_similarity(part))
    )
    if len(text) < 3:
        return Folded(text=text, shingles=frozenset([text]) if text else frozenset(), sentences=sentences)
    shingles = frozenset(text[i : i + 3] for i in range(len(text) - 2))
    return Folded(text=text, shingles=shingles, sentences=sentences)


def _covered(mine: Sequence[str], theirs: Sequence[str]) -> tuple[float, float]:
    """The share of mine (by length) with a counterpart in theirs, and mine's length-weighted mean similarity.

    Stops (share 0) as soon as too much of mine has no counterpart for the texts to be paraphrases.
    """
    total = sum(len(sentence) for sentence in mine)
    if not total:
        return 0.0, 0.0
    kept = weighted = missing = 0.0
    allowed = (1 - PARAPHRASE_SENTENCE_MATCH) * total
    for sentence in mine:
        best = max(fuzz.ratio(sentence, other) / 100 for other in theirs)
        weighted += best * len(sentence)
        if best >= _COUNTERPART:
            kept += len(sentence)
        else:
            missing += len(sentence)
            if missing > allowed:
                return 0.0, weighted / total
    return kept / total, weighted / total


def paraphrase(a: Folded, b: Folded) -> tuple[bool, float]:
    """Whether b keeps a's sentences reworded, and the length-weighted sentence similarity (both ways)."""
    if min(len(a.sentences), len(b.sentences)) < _PARAPHRASE_MIN_SENTENCES:
        return False, 0.0
    kept_a, aligned_a = _covered(a.sentences, b.sentences)
    if kept_a < PARAPHRASE_SENTENCE_MATCH:
        return False, round(aligned_a, 4)
    kept_b, aligned_b = _covered(b.sentences, a.sentences)
    aligned = min(aligned_a, aligned_b)
    found = min(kept_a, kept_b) >= PARAPHRASE_SENTENCE_MATCH and aligned >= PARAPHRASE_ALIGNED
    return found, round(aligned, 4)


def dice(a: Folded, b: Folded) -> float:
    if not a.shingles or not b.shingles:
        return 0.0
    return 2 * len(a.shingles & b.shingles) / (len(a.shingles) + len(b.shingles))


def similarity(a: Folded, b: Folded) -> float:
    """Similarity 0–1: the larger of the string similarity and the 3-gram Dice coefficient."""
    if not a.text or not b.text:
        return 0.0
    return max(dice(a, b), fuzz.ratio(a.text, b.text) / 100)


def _bound(a: Folded, b: Folded) -> float:
    """An upper bound of both similarity measures, from lengths alone."""
    short, long_ = sorted((len(a.text), len(b.text)))
    shingle_short, shingle_long = sorted((len(a.shingles), len(b.shingles)))
    by_text = 2 * short / (short + long_) if long_ else 0.0
    by_shingles = 2 * shingle_short / (shingle_short + shingle_long) if shingle_long else 0.0
    return max(by_text, by_shingles)


# --- Recent posts, folded once per version ----------------------------------------------------------

_lock = threading.Lock()
# Keyed by version and update time: the edit service raises the version, other writers touch updated_at.
_Key = tuple[UUID, int, datetime]
_cache: OrderedDict[_Key, tuple[str, Folded]] = OrderedDict()


def _remember(key: _Key, value: tuple[str, Folded]) -> None:
    with _lock:
        _cache[key] = value
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)


def _recall(key: _Key) -> tuple[str, Folded] | None:
    with _lock:
        return _cache.get(key)


def recent_posts(
    *, exclude_post_id: Any = None, now: datetime | None = None
) -> list[tuple[UUID, str, Folded]]:
    """Posts of every persona created within DUPLICATE_WINDOW_DAYS: (id, title, folded text)."""
    since = (now or timezone.now()) - timedelta(days=settings.DUPLICATE_WINDOW_DAYS)
    rows = Post.objects.filter(created_at__gte=since)
    if exclude_post_id is not None:
        rows = rows.exclude(pk=exclude_post_id)
    versions = list(
        rows.order_by("-created_at").values_list("pk", "version", "updated_at")[
            : settings.DUPLICATE_MAX_POSTS
        ]
    )
    missing = [pk for pk, version, updated in versions if _recall((pk, version, updated)) is None]
    for offset in range(0, len(missing), _FETCH_CHUNK):
        chunk = missing[offset : offset + _FETCH_CHUNK]
        for pk, version, updated, title, body in Post.objects.filter(pk__in=chunk).values_list(
            "pk", "version", "updated_at", "title", "body"
        ):
            _remember((pk, version, updated), (title, fold_text(title, body)))
    found: list[tuple[UUID, str, Folded]] = []
    for pk, version, updated in versions:
        cached = _recall((pk, version, updated))
        if cached is not None:
            found.append((pk, cached[0], cached[1]))
    return found


# --- The check --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    similarity: float
    post_id: str | None
    title: str
    index: int | None
    paraphrase: bool = False
    sentence_similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "similarity": self.similarity,
            "post_id": self.post_id,
            "title": self.title,
            "index": self.index,
            "paraphrase": self.paraphrase,
            "sentence_similarity": self.sentence_similarity,
        }


@dataclass(frozen=True)
class DuplicateResult:
    max_similarity: float
    closest: Match | None
    compared: int
    scored: int  # compared character by character, after the length and 3-gram filters
    findings: tuple[Finding, ...]
    by_sentence: int = 0  # compared sentence by sentence for a paraphrase

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_similarity": self.max_similarity,
            "closest": self.closest.to_dict() if self.closest else None,
            "threshold": settings.DUPLICATE_THRESHOLD,
            "window_days": settings.DUPLICATE_WINDOW_DAYS,
            "compared": self.compared,
            "scored": self.scored,
            "by_sentence": self.by_sentence,
        }


def duplicate_severity() -> Severity:
    return "block" if settings.DUPLICATE_SEVERITY == "block" else "warn"


def _finding(match: Match, threshold: float) -> Finding:
    if match.paraphrase and match.similarity < threshold:
        return _paraphrase_finding(match)
    if match.post_id is not None:
        message = _(
            "Near-duplicate of post 「%(title)s」 (%(id)s): similarity %(similarity).2f ≥ %(threshold).2f."
        )
        code, excerpt = "duplicate.near_duplicate_post", match.title
    else:
        message = _(
            "Near-duplicate of compared text #%(index)s: similarity %(similarity).2f ≥ %(threshold).2f."
        )
        code, excerpt = "duplicate.near_duplicate_text", match.title
    return Finding(
        code=code,
        severity=duplicate_severity(),
        excerpt=excerpt,
        message=message
        % {
            "title": match.title,
            "id": match.post_id,
            "index": match.index,
            "similarity": match.similarity,
            "threshold": threshold,
        },
        detail=match.to_dict(),
    )


def _paraphrase_finding(match: Match) -> Finding:
    values = {
        "title": match.title,
        "id": match.post_id,
        "index": match.index,
        "aligned": match.sentence_similarity or 0.0,
        "needed": PARAPHRASE_ALIGNED,
    }
    if match.post_id is not None:
        message = _(
            "Paraphrase of post 「%(title)s」 (%(id)s): its sentences are kept reworded, in order "
            "(sentence similarity %(aligned).2f ≥ %(needed).2f)."
        )
        code = "duplicate.paraphrase_post"
    else:
        message = _(
            "Paraphrase of compared text #%(index)s: its sentences are kept reworded "
            "(sentence similarity %(aligned).2f ≥ %(needed).2f)."
        )
        code = "duplicate.paraphrase_text"
    return Finding(
        code=code,
        severity=duplicate_severity(),
        excerpt=match.title,
        message=message % values,
        detail=match.to_dict(),
    )


def _score(
    draft: Folded, folded: Folded, template: Match, threshold: float
) -> tuple[Match, bool, bool] | None:
    """The match with its similarity (None when the length bound rules it out), whether the strings and
    whether the sentences were compared."""
    if template.post_id is not None and _bound(draft, folded) < min(threshold, PARAPHRASE_SENTENCE_MATCH):
        return None
    overlap = dice(draft, folded)
    compared = overlap >= threshold - _DICE_MARGIN or template.post_id is None
    if compared:
        overlap = similarity(draft, folded)
    found, aligned = (False, None)
    by_sentence = overlap < threshold and (overlap >= _PARAPHRASE_DICE_FLOOR or template.post_id is None)
    if by_sentence:
        found, aligned = paraphrase(draft, folded)
    match = Match(round(overlap, 4), template.post_id, template.title, template.index, found, aligned)
    return match, compared, by_sentence


def find_duplicates(
    *,
    title: str,
    body: str,
    compare_with: Sequence[str] = (),
    exclude_post_id: Any = None,
    include_posts: bool = True,
) -> DuplicateResult:
    threshold = float(settings.DUPLICATE_THRESHOLD)
    draft = fold_text(title, body)
    candidates: list[tuple[Match, Folded]] = [
        (Match(0.0, None, text[:60], index), fold_text("", text)) for index, text in enumerate(compare_with)
    ]
    if include_posts:
        candidates += [
            (Match(0.0, str(pk), post_title, None), folded)
            for pk, post_title, folded in recent_posts(exclude_post_id=exclude_post_id)
        ]
    scored: list[Match] = []
    compared = string_compared = sentence_compared = 0
    for template, folded in candidates:
        compared += 1
        result = _score(draft, folded, template, threshold)
        if result is None:
            continue
        string_compared += result[1]
        sentence_compared += result[2]
        scored.append(result[0])
    scored.sort(
        key=lambda match: (match.similarity >= threshold or match.paraphrase, match.similarity), reverse=True
    )
    closest = scored[0] if scored else None
    above = [match for match in scored if match.similarity >= threshold or match.paraphrase][:_MAX_FINDINGS]
    return DuplicateResult(
        max_similarity=closest.similarity if closest else 0.0,
        closest=closest,
        compared=compared,
        scored=string_compared,
        findings=tuple(_finding(match, threshold) for match in above),
        by_sentence=sentence_compared,
    )
