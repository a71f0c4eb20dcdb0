from __future__ import annotations

import copy
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import pytest

from kols.models import KOL, EmojiUse, PostType
from market.models import Stock
from posting.checks.duplicates import find_duplicates
from posting.generation.context import context_build
from posting.generation.template_writer import (
    CLOSINGS,
    RISK_REMINDERS,
    TEMPLATE_WRITER_VERSION,
    TemplateWriterError,
    template_post_write,
)
from posting.models import ComplianceRule
from tests.factories import DailyQuoteFactory, KOLFactory, StockFactory

pytestmark = pytest.mark.django_db

NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _kol(**changes: Any) -> KOL:
    values: dict[str, Any] = {
        "nickname": "阿明聊台股",
        "signature": "— 阿明",
        "common_phrases": ["慢慢來比較快", "量價不會騙人"],
        "emoji_use": EmojiUse.NONE,
        "tone_formal": 3,
        "tone_confidence": 8,
        "tone_interaction": 3,
    }
    values.update(changes)
    return cast(KOL, KOLFactory(**values))


def _snapshot(kol: KOL, closes: list[int]) -> dict[str, Any]:
    stock = cast(Stock, StockFactory(code="2454", name="聯發科"))
    for day, close in enumerate(closes):
        previous = closes[day - 1] if day else close
        DailyQuoteFactory(
            stock=stock,
            trade_date=dt.date(2026, 11, 1) + dt.timedelta(days=day),
            open=Decimal(previous),
            high=Decimal(max(close, previous)) + Decimal("5.5"),
            low=Decimal(min(close, previous)) - Decimal("2.5"),
            close=Decimal(close),
            change=Decimal(close - previous),
            volume=2_345_678 + day * 1000,
            turnover=3_456_789_000,
        )
    return context_build(kol=kol, stock=stock)


def _numbers_in(value: Any) -> set[Decimal]:
    """Every number a snapshot holds, as values: "124.00" and 124 are the same number."""
    found: set[Decimal] = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= _numbers_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= _numbers_in(item)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        found.add(Decimal(value))
    elif isinstance(value, str):
        try:
            found.add(abs(Decimal(value)))
        except InvalidOperation:
            found |= {Decimal(part) for part in NUMBER.findall(value.replace(",", ""))}
    return found


def _snapshot_numbers(snapshot: dict[str, Any]) -> set[Decimal]:
    # The build timestamp and the KOL id are bookkeeping, not market data a post may quote.
    return _numbers_in(
        {key: value for key, value in snapshot.items() if key not in {"built_at", "built_for"}}
    )


def _written_numbers(text: str) -> list[Decimal]:
    return [Decimal(number.replace(",", "")) for number in NUMBER.findall(text)]


def test_every_number_the_writer_writes_is_in_the_snapshot() -> None:
    kol = _kol()
    snapshot = _snapshot(kol, [1000 + step * 5 for step in range(25)])
    post = template_post_write(kol=kol, snapshot=snapshot)
    allowed = _snapshot_numbers(snapshot)

    written = _written_numbers(post.title + "\n" + post.body)
    assert written, "the post should state figures"
    assert [number for number in written if number not in allowed] == []


def test_a_falling_day_is_described_in_words_with_numbers_from_the_snapshot() -> None:
    kol = _kol(tone_formal=8)
    snapshot = _snapshot(kol, [1100, 1085])
    post = template_post_write(kol=kol, snapshot=snapshot)

    assert "下跌15元" in post.body
    assert post.title.startswith("聯發科（2454）") and "下跌1.36%" in post.title
    assert "1,085元" in post.body
    assert [
        number for number in _written_numbers(post.body) if number not in _snapshot_numbers(snapshot)
    ] == []


def test_the_same_input_gives_the_same_post() -> None:
    kol = _kol()
    snapshot = _snapshot(kol, [1000, 1010, 1005, 1020, 1030, 1025])
    first = template_post_write(kol=kol, snapshot=snapshot)
    again = template_post_write(kol=KOL.objects.get(pk=kol.pk), snapshot=copy.deepcopy(snapshot))

    assert first == again


def test_the_post_speaks_in_the_persona_and_ends_with_the_risk_reminder_and_signature() -> None:
    kol = _kol()
    post = template_post_write(kol=kol, snapshot=_snapshot(kol, [1000, 1010]))
    paragraphs = post.body.split("\n\n")

    assert any(paragraphs[0].startswith(phrase) for phrase in kol.common_phrases)
    assert paragraphs[0][-1] == "。"  # then the persona's own way in
    assert "1,010元" in post.body
    assert set(CLOSINGS["confident"]) & set(paragraphs)
    assert paragraphs[-2] in RISK_REMINDERS and paragraphs[-1] == "— 阿明"
    assert (post.stance, post.tags, post.prompt_version) == ("neutral", ["2454"], TEMPLATE_WRITER_VERSION)


def test_tone_and_emoji_settings_change_the_wording() -> None:
    formal = _kol(tone_formal=9, emoji_use=EmojiUse.HEAVY, common_phrases=[], signature="")
    post = template_post_write(kol=formal, snapshot=_snapshot(formal, [1000, 1010]))

    assert post.title.startswith("📈 ")
    assert "上漲10元" in post.body and "漲了" not in post.body
    assert post.body.split("\n\n")[-1] in RISK_REMINDERS


def test_figures_missing_from_the_snapshot_are_not_written() -> None:
    kol = _kol()
    post = template_post_write(kol=kol, snapshot=_snapshot(kol, [1000, 1010, 1020]))

    assert "週線" not in post.body
    assert "月線" not in post.body
    assert "二十" not in post.body


def test_a_question_post_ends_with_a_question_to_the_audience() -> None:
    kol = _kol()
    post = template_post_write(kol=kol, snapshot=_snapshot(kol, [1000, 1010]), post_type=PostType.QUESTION)

    assert post.title.endswith("怎麼看？")
    assert set(CLOSINGS["interactive"]) & set(post.body.split("\n\n"))


def test_a_news_commentary_needs_news_in_the_snapshot() -> None:
    kol = _kol()
    snapshot = _snapshot(kol, [1000, 1010])
    with pytest.raises(TemplateWriterError, match="2454"):
        template_post_write(kol=kol, snapshot=snapshot, post_type=PostType.NEWS_COMMENTARY)

    snapshot["news"] = [
        {"title": "聯發科發表新晶片", "summary": "", "source": "工商時報", "url": "", "published_at": ""}
    ]
    post = template_post_write(kol=kol, snapshot=snapshot, post_type=PostType.NEWS_COMMENTARY)
    assert "・聯發科發表新晶片（工商時報）" in post.body


def test_a_snapshot_without_a_close_is_refused_naming_what_is_missing() -> None:
    kol = _kol()
    snapshot = _snapshot(kol, [1000, 1010])
    snapshot["quote"]["close"] = None
    with pytest.raises(TemplateWriterError, match=r"quote\.close"):
        template_post_write(kol=kol, snapshot=snapshot)


def test_every_risk_reminder_satisfies_the_compliance_rule() -> None:
    rule = ComplianceRule.objects.get(code="missing_risk_reminder")
    assert all(re.search(rule.pattern, reminder) for reminder in RISK_REMINDERS)


def test_a_batch_for_different_stocks_and_personas_passes_our_near_duplicate_check(
    demo_world: dict[str, int], settings: Any
) -> None:
    kols = list(KOL.objects.filter(is_demo=True).order_by("serial"))
    stocks = list(Stock.objects.filter(quotes__is_demo=True).distinct().order_by("code")[:12])
    drafts = []
    for index, stock in enumerate(stocks):
        kol = kols[index % len(kols)]
        snapshot = context_build(kol=kol, stock=stock)
        post_type = (PostType.ANALYSIS, PostType.QUESTION)[index % 2]
        written = template_post_write(kol=kol, snapshot=snapshot, post_type=post_type)
        drafts.append(f"{written.title}\n{written.body}")
    for index, draft in enumerate(drafts):
        title, body = draft.split("\n", 1)
        others = drafts[:index] + drafts[index + 1 :]
        result = find_duplicates(title=title, body=body, compare_with=others, include_posts=False)
        assert result.max_similarity < settings.DUPLICATE_THRESHOLD, (index, result.closest)
