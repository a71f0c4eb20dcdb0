"""Compliance with Taiwan's investment-advice rules, read from ComplianceRule rows.

Rules are matched against folded text (see text.py), so 「保 證 獲 利」, 「保证获利」 and 「ＬＩＮＥ」 meet the
same rule as the plain spelling. A match in a negated or warning context (「沒有保證獲利」, 「小心穩賺不賠
的話術」) is not a finding when the rule says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from market.models import Stock
from posting.checks.stocks import StockDirectory, mentions_a_stock, stock_directory
from posting.checks.text import Folded, clause_bounds, fold, fold_pattern, fold_phrase, sentence_bounds, words
from posting.checks.types import Field, Finding, Severity
from posting.models import ComplianceRule

# Negation and warning cues before a match, in its clause (written in Traditional, folded on use).
_NEGATION_CUES = (
    *words(
        """
    沒有 並沒有 並非 絕非 絕不 不是 不會 不能 不可能 不可以 不要 不用 不必 不該 不應 不宜
    不得 不保證 不代表 不存在 不相信 無法 無從 沒有所謂 哪有 哪來 何來 別再 切勿 請勿 千萬別 小心
    當心 謹防 慎防 提防 警惕 遠離 避免 拒絕 識破 揭穿 反對 禁止 嚴禁 所謂 號稱 宣稱
    聲稱 標榜 打著 誰能 誰敢 違法的 非法的 違法 非法
    """
    ),
    "not ",
    "no ",
    "never ",
    "n't ",
    "without ",
    "beware",
    "avoid ",
)
# One-character negators count only right before the match and not inside these ordinary words.
_SINGLE_NEGATORS = "不沒無非未別勿莫"
_NOT_NEGATING = frozenset(
    words(
        """
    不少 不錯 不斷 不過 不僅 不只 不但 不管 不論 不如 不同 不久 不妨 不停 不住 不已
    無論 無比 無限 非常 非凡 未來 別人 別的 別家 莫名 特別 分別 區別 差別 個別 類別
    級別 告別 識別 除非 是非
    """
    )
)
# Cues after a match that say it is being warned against (「穩賺不賠是騙人的」).
_DISMISSAL_CUES = (
    *words(
        """
    是騙 騙人 詐騙 騙局 話術 陷阱 不存在 是假 不可信 不能信 別信 迷思 謊言 不可能的 是不可能 神話
    是幻想
    """
    ),
    "scam",
    "myth",
)
_PRE_WINDOW = 8
_POST_WINDOW = 12
# A concession ends what a negation before it covers: 「不是保證，但一定漲」, 「不是保证但一定涨」.
_CONCESSIVE = re.compile(
    "|".join(sorted(words("但 不過 可是 然而 只是 卻 仍然 還是"), key=len, reverse=True))
)
# Reported speech: a scam phrase quoted or retold in order to warn readers (「有人打著名師招牌說包賺，別信」).
_REPORTING = words(
    """
    說 喊 宣稱 號稱 聲稱 標榜 打著 吹噓 廣告 話術 口號 保證說 聽到 看到 所謂 什麼 「 『 “ " ＂
    """
)
_SOURCE_WINDOW = 6
_WARNING_CUES = words(
    """
    別信 不要信 不能信 不可信 勿信 別相信 不要相信 詐騙 騙 話術 小心 當心 警覺 留意 檢舉 上當 違法 非法
    陷阱 假的 謊言 別參與 不要參與 別碰 遠離 提防 謹慎 千萬別 千萬不要 不實
    """
)


@dataclass(frozen=True)
class CompiledRule:
    pk: int | None
    code: str
    category: str
    kind: str
    severity: Severity
    message: str
    matcher: re.Pattern[str]
    applies: re.Pattern[str] | None
    unless: re.Pattern[str] | None
    skip_negated: bool


@lru_cache(maxsize=1)
def _cues() -> tuple[tuple[str, ...], frozenset[str], tuple[str, ...], str]:
    return (
        tuple(fold_phrase(cue) if not cue.isascii() else cue for cue in _NEGATION_CUES),
        frozenset(fold_phrase(word) for word in _NOT_NEGATING),
        tuple(fold_phrase(cue) if not cue.isascii() else cue for cue in _DISMISSAL_CUES),
        fold_phrase(_SINGLE_NEGATORS),
    )


@lru_cache(maxsize=1)
def _speech_cues() -> tuple[re.Pattern[str], tuple[str, ...], tuple[str, ...]]:
    concessive = re.compile(fold_pattern(_CONCESSIVE.pattern))
    return (
        concessive,
        tuple(fold_phrase(cue) if not cue.isascii() else cue for cue in _REPORTING),
        tuple(fold_phrase(cue) for cue in _WARNING_CUES),
    )


def phrase_regex(phrase: str) -> str:
    """A literal phrase as a regex over folded text; English words keep their word boundaries."""
    folded = fold_phrase(phrase.strip())
    body = "".join(r"\s*" if char == " " else re.escape(char) for char in folded)
    if folded[:1].isascii() and folded[:1].isalnum():
        body = r"(?<![a-z0-9])" + body
    if folded[-1:].isascii() and folded[-1:].isalnum():
        body += r"(?![a-z0-9])"
    return body


def matcher_source(pattern: str, phrases: Iterable[str]) -> str:
    alternatives = sorted((phrase_regex(p) for p in phrases if p.strip()), key=len, reverse=True)
    if pattern.strip():
        alternatives.insert(0, f"(?:{fold_pattern(pattern.strip())})")
    return "|".join(alternatives)


@lru_cache(maxsize=1024)
def _compile(source: str) -> re.Pattern[str]:
    return re.compile(source, re.IGNORECASE)


def _optional(pattern: str) -> re.Pattern[str] | None:
    return _compile(fold_pattern(pattern.strip())) if pattern.strip() else None


def compile_rule(rule: ComplianceRule) -> CompiledRule:
    return CompiledRule(
        pk=rule.pk,
        code=rule.code,
        category=rule.category,
        kind=rule.kind,
        severity="block" if rule.severity == ComplianceRule.Severity.BLOCK else "warn",
        message=rule.message,
        matcher=_compile(matcher_source(rule.pattern, rule.phrases or [])),
        applies=_optional(rule.applies_pattern),
        unless=_optional(rule.unless_pattern),
        skip_negated=rule.skip_negated,
    )


def rule_validation_errors(rule: ComplianceRule) -> dict[str, list[str]]:
    """Why a rule cannot be used, by field; empty when it can."""
    errors: dict[str, list[str]] = {}
    phrases = rule.phrases
    if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        errors["phrases"] = [_("Phrases must be a list of texts.")]
        phrases = []
    if not rule.pattern.strip() and not any(p.strip() for p in phrases):
        errors["pattern"] = [_("Give a pattern or at least one phrase.")]
    for name in ("pattern", "applies_pattern", "unless_pattern"):
        source = getattr(rule, name).strip()
        if not source:
            continue
        try:
            compiled = re.compile(fold_pattern(source), re.IGNORECASE)
        except re.error as exc:
            errors.setdefault(name, []).append(
                _("Not a valid regular expression: %(error)s.") % {"error": exc}
            )
            continue
        if compiled.search("") is not None:
            errors.setdefault(name, []).append(
                _("The expression matches empty text, so it would match any post.")
            )
    return errors


def active_rules(queryset: QuerySet[ComplianceRule] | None = None) -> list[CompiledRule]:
    rules = ComplianceRule.objects.filter(active=True) if queryset is None else queryset
    return [compile_rule(rule) for rule in rules.order_by("category", "code")]


def compliance_rules_set_active(*, rule_ids: Sequence[int], active: bool) -> int:
    """Switch rules on or off; returns how many changed."""
    return ComplianceRule.objects.filter(pk__in=rule_ids).exclude(active=active).update(active=active)


# --- Negation ---------------------------------------------------------------------------------------


def _single_negator_before(window: str) -> bool:
    _multi, ordinary, _dismissals, singles = _cues()
    for index in range(max(0, len(window) - 3), len(window)):
        if window[index] not in singles:
            continue
        if window[index : index + 2] in ordinary or window[max(0, index - 1) : index + 1] in ordinary:
            continue
        return True
    return False


def is_negated(folded: str, start: int, end: int) -> bool:
    """Whether the match folded[start:end] is negated or warned against in its clause."""
    multi, _ordinary, dismissals, _singles = _cues()
    clause_start, _clause_end = clause_bounds(folded, start, end)
    window = _after_concession(folded[max(clause_start, start - _PRE_WINDOW) : start])
    if any(cue in window for cue in multi) or _single_negator_before(window):
        return True
    after = _text_after(folded, end)
    return any(cue in after for cue in dismissals) or is_reported_warning(folded, start, end)


def _after_concession(window: str) -> str:
    concessive, _reporting, _warnings = _speech_cues()
    ends = [match.end() for match in concessive.finditer(window)]
    return window[ends[-1] :] if ends else window


def is_reported_warning(folded: str, start: int, end: int) -> bool:
    """Whether the match is a scam phrase retold to warn readers, not the writer's own promise.

    The phrase must be reported (a reporting word such as 說/宣稱/打著 before it in its clause, with no
    concession in between, or quotation marks around it) and its sentence or the next one must warn
    (別信, 詐騙, 話術, 小心 …). 「不是保證，但一定漲」 has no reporting word, so it is still a promise.
    """
    concessive, reporting, warnings = _speech_cues()
    clause_start, clause_end = clause_bounds(folded, start, end)
    sentence_start, sentence_end = sentence_bounds(folded, start, end)
    before = _after_concession(folded[max(sentence_start, clause_start - 1) : start])
    # The source of what is retold, right before the reporting word: 「LINE群裡有人喊…」.
    source_of = folded[end : min(clause_end, end + _SOURCE_WINDOW)]
    quoted = _inside_quotes(folded[sentence_start:start])
    if not quoted and not any(cue in before or cue in source_of for cue in reporting):
        return False
    if concessive.search(folded[end:sentence_end]) and not quoted:
        return False
    _next_start, next_end = sentence_bounds(folded, min(len(folded), sentence_end + 1), sentence_end + 1)
    around = folded[sentence_start:start] + folded[end : max(sentence_end, next_end)]
    return any(cue in around for cue in warnings)


def _inside_quotes(before: str) -> bool:
    opened = sum(before.count(mark) for mark in "「『“")
    closed = sum(before.count(mark) for mark in "」』”")
    return opened > closed


def _text_after(folded: str, end: int) -> str:
    # A rhetorical question still belongs to the claim: 「穩賺不賠？不存在的」.
    stop = end
    limit = min(len(folded), end + _POST_WINDOW)
    while stop < limit and folded[stop] not in "。!；;\n,，、":
        stop += 1
    return folded[end:stop]


# --- Matching ---------------------------------------------------------------------------------------


def _finding(rule: CompiledRule, field: Field, original: str, span: tuple[int, int]) -> Finding:
    start, end = span
    return Finding(
        code=f"compliance.{rule.code}",
        severity=rule.severity,
        excerpt=original[start:end],
        message=rule.message,
        field=field,
        start=start,
        end=end,
        detail={"category": rule.category, "rule_id": rule.pk},
    )


def _forbidden(rule: CompiledRule, field: Field, original: str, folded: Folded) -> list[Finding]:
    findings: list[Finding] = []
    for match in rule.matcher.finditer(folded.text):
        if match.end() == match.start():
            continue
        if rule.skip_negated and is_negated(folded.text, match.start(), match.end()):
            continue
        if rule.unless is not None:
            left, right = sentence_bounds(folded.text, match.start(), match.end())
            if rule.unless.search(folded.text[left:right]):
                continue
        findings.append(_finding(rule, field, original, folded.span(match.start(), match.end())))
    return findings


def _required(
    rule: CompiledRule, texts: Mapping[Field, str], folded: Mapping[Field, Folded], about_a_stock: bool
) -> list[Finding]:
    """The absence of the required wording, reported at the claim that needed it."""
    if not about_a_stock or any(rule.matcher.search(f.text) for f in folded.values()):
        return []
    fields: tuple[Field, ...] = ("body", "title")
    for field in fields:
        if field not in folded:
            continue
        if rule.applies is None:
            return [_finding(rule, field, texts[field], (0, 0))]
        match = rule.applies.search(folded[field].text)
        if match is not None:
            return [_finding(rule, field, texts[field], folded[field].span(match.start(), match.end()))]
    return []


def compliance_findings(
    *,
    texts: Mapping[Field, str],
    rules: Sequence[CompiledRule],
    stock: Stock | None = None,
    directory: StockDirectory | None = None,
) -> list[Finding]:
    folded = {field: fold(text) for field, text in texts.items()}
    findings: list[Finding] = []
    about_a_stock: bool | None = None
    for rule in rules:
        if rule.kind == ComplianceRule.Kind.REQUIRED:
            if about_a_stock is None:
                about_a_stock = _about_a_stock(folded, stock, directory or stock_directory())
            findings.extend(_required(rule, texts, folded, about_a_stock))
            continue
        for field, text in texts.items():
            findings.extend(_forbidden(rule, field, text, folded[field]))
    return findings


def _about_a_stock(folded: Mapping[Field, Folded], stock: Stock | None, directory: StockDirectory) -> bool:
    return any(mentions_a_stock(f.text, stock=stock, directory=directory) for f in folded.values())
