"""Serper wired into the news trigger, the macro trigger and the draft context (SERPER_API_KEY set),
alongside RSS, de-duplicated by URL. Serper is replaced at the HTTP boundary (respx)."""

from __future__ import annotations

from typing import Any, cast

import pytest
import respx
import time_machine
from django.utils import timezone

from kols.models import KOL
from market.models import NewsItem
from posting.generation.context import context_build
from scheduling.triggers import trigger_evaluate
from tests.factories import KOLFactory, NewsItemFactory, StockFactory
from tests.market.payloads import SERPER_URL
from tests.posting.batch_setup import stock_with_quotes

pytestmark = pytest.mark.django_db


def _serper(*items: tuple[str, str]) -> dict[str, Any]:
    return {
        "news": [
            {"title": title, "link": link, "snippet": "", "date": "1 hour ago", "source": "經濟日報"}
            for title, link in items
        ]
    }


@pytest.fixture
def serper_key(settings: Any) -> None:
    settings.SERPER_API_KEY = "test-key"


def test_the_news_trigger_searches_serper_and_reads_it_with_rss_once_per_url(
    respx_mock: respx.MockRouter, serper_key: None
) -> None:
    tsmc = StockFactory(code="2330", name="台積電")
    StockFactory(code="2303", name="聯電")
    rss_item = NewsItemFactory(title="台積電 AI 訂單滿載", url="https://money.example.com.tw/story/1")
    rss_item.stocks.add(tsmc)
    route = respx_mock.post(SERPER_URL).respond(
        json=_serper(
            ("台積電 AI 訂單滿載", "https://money.example.com.tw/story/1?utm_source=google"),
            ("聯電 AI 新廠動工", "https://news.example.com/a/2"),
        )
    )
    result = trigger_evaluate(trigger_type="news", config={"keywords": ["AI"]})
    assert route.called
    assert {candidate.stock.code for candidate in result.candidates if candidate.stock} == {"2330", "2303"}
    assert NewsItem.objects.filter(url__startswith="https://money.example.com.tw/story/1").count() == 1
    # Within SERPER_REFRESH_MINUTES the same query is not searched again.
    trigger_evaluate(trigger_type="news", config={"keywords": ["AI"]})
    assert route.call_count == 1


def test_without_a_key_serper_is_never_called(respx_mock: respx.MockRouter, settings: Any) -> None:
    settings.SERPER_API_KEY = ""
    route = respx_mock.post(SERPER_URL).respond(json=_serper())
    trigger_evaluate(trigger_type="macro", config={"topics": ["升息"]})
    assert not route.called


def test_a_failing_search_leaves_no_news_and_the_trigger_still_answers(
    respx_mock: respx.MockRouter, serper_key: None
) -> None:
    respx_mock.post(SERPER_URL).respond(500)
    NewsItemFactory(title="央行升息半碼")
    result = trigger_evaluate(trigger_type="macro", config={"topics": ["升息"]})
    assert [candidate.topic for candidate in result.candidates] == ["升息"]
    assert not NewsItem.objects.filter(origin=NewsItem.Origin.SERPER).exists()


def test_the_draft_context_gets_serper_news_about_its_stock(
    respx_mock: respx.MockRouter, serper_key: None
) -> None:
    stock = stock_with_quotes("2330")
    route = respx_mock.post(SERPER_URL).respond(
        json=_serper(("台積電法說會 上修全年營收", "https://news.example.com/tsmc/1"))
    )
    with time_machine.travel(timezone.now(), tick=False):
        snapshot = context_build(kol=cast(KOL, KOLFactory()), stock=stock)
    assert [item["title"] for item in snapshot["news"]] == ["台積電法說會 上修全年營收"]
    assert route.calls.last.request.content.decode().count("2330") == 1
