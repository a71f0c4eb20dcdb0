"""The news and macro triggers, with the market app's NewsItem present and absent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from market.models import Stock
from scheduling.triggers import TriggerResult, trigger_evaluate
from tests.factories import StockFactory

pytestmark = pytest.mark.django_db


def new_stock(**fields: Any) -> Stock:
    return cast(Stock, StockFactory(**fields))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in the source language; the site default is zh-hant.
    with translation.override("en"):
        yield


TAIPEI = ZoneInfo("Asia/Taipei")
NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=TAIPEI)


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _item(
    title: str,
    stocks: list[Stock],
    *,
    hours_ago: float | None,
    snippet: str = "",
    fetched_hours_ago: float = 0,
) -> Any:
    from tests.factories import NewsItemFactory

    item = NewsItemFactory(
        title=title,
        snippet=snippet,
        published_at=None if hours_ago is None else NOW - dt.timedelta(hours=hours_ago),
        fetched_at=NOW - dt.timedelta(hours=fetched_hours_ago if hours_ago is None else 0),
    )
    item.stocks.set(stocks)
    return item


@pytest.fixture
def headlines(frozen: None) -> dict[str, Stock]:
    tsmc = new_stock(code="1001", name="台積電")
    quanta = new_stock(code="2382", name="廣達", industry="電腦及週邊設備業")
    wistron = new_stock(code="3231", name="緯創", industry="電腦及週邊設備業")
    shipping = new_stock(code="2603", name="長榮", industry="航運業")
    gone = new_stock(code="9999", name="下市公司", is_active=False)
    _item("台積電法說會釋出AI需求", [tsmc], hours_ago=2)
    _item("AI伺服器出貨暢旺", [quanta, wistron], hours_ago=5, snippet="廣達、緯創受惠")
    _item("台積電AI晶片供不應求", [tsmc], hours_ago=1)
    _item("AI概念股大漲", [quanta], hours_ago=30)
    _item("航運運價下跌", [shipping], hours_ago=1)
    _item("AI新創募資", [], hours_ago=3)
    _item("AI 舊公司重整", [gone], hours_ago=1)
    # No publish time: counted at the time it was fetched. Lower case still matches "AI".
    _item("緯創 ai 邊緣運算", [wistron], hours_ago=None, fetched_hours_ago=2)
    _item("聯準會升息一碼", [], hours_ago=2)
    _item("市場關注", [], hours_ago=5, snippet="升息循環接近尾聲")
    _item("新台幣匯率走升", [], hours_ago=30)
    return {"tsmc": tsmc, "quanta": quanta, "wistron": wistron}


def codes(result: TriggerResult) -> list[str]:
    return [candidate.stock.code for candidate in result.candidates if candidate.stock is not None]


# --- news ----------------------------------------------------------------------------------------------


def test_news_ranks_stocks_by_matching_headlines_in_the_window(headlines: dict[str, Stock]) -> None:
    result = trigger_evaluate(trigger_type="news", config={"keywords": ["AI"]})
    assert codes(result) == ["1001", "3231", "2382"]
    reason = result.candidates[0].reasons[0]
    assert reason["news_count"] == 2
    assert reason["keywords"] == ["AI"]
    assert [headline["title"] for headline in reason["headlines"]] == [
        "台積電AI晶片供不應求",
        "台積電法說會釋出AI需求",
    ]
    assert result.candidates[0].score == 2.0
    assert {exclusion.stock_code: exclusion.code for exclusion in result.excluded} == {"9999": "inactive"}
    assert any("1 matching headline" in note for note in result.notes)


def test_news_matches_any_keyword_and_breaks_ties_by_the_latest_headline(headlines: dict[str, Stock]) -> None:
    result = trigger_evaluate(trigger_type="news", config={"keywords": ["運價", "AI"]})
    assert codes(result) == ["1001", "3231", "2603", "2382"]
    assert result.candidates[2].reasons[0]["keywords"] == ["運價"]


def test_news_window_is_configurable(headlines: dict[str, Stock]) -> None:
    result = trigger_evaluate(trigger_type="news", config={"keywords": ["AI"], "window_hours": 36})
    # 2382 now has two headlines too; among equals the most recent headline ranks first.
    assert codes(result) == ["1001", "3231", "2382"]
    assert result.candidates[2].reasons[0]["news_count"] == 2


def test_news_as_of_an_earlier_day_looks_at_that_day(headlines: dict[str, Stock]) -> None:
    result = trigger_evaluate(trigger_type="news", config={"keywords": ["AI"]}, as_of=dt.date(2026, 11, 19))
    assert codes(result) == ["2382"]
    assert result.candidates[0].reasons[0]["headlines"][0]["title"] == "AI概念股大漲"


def test_news_with_no_matching_headline_returns_no_candidates(headlines: dict[str, Stock]) -> None:
    result = trigger_evaluate(trigger_type="news", config={"keywords": ["量子"]})
    assert result.candidates == []
    assert result.matched == 0


def test_news_reads_only_in_one_query_plus_the_stocks(headlines: dict[str, Stock]) -> None:
    with CaptureQueriesContext(connection) as queries:
        trigger_evaluate(trigger_type="news", config={"keywords": ["AI", "運價"]})
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["SELECT", "SELECT"]


# --- macro ---------------------------------------------------------------------------------------------


def test_macro_offers_configured_topics_ranked_by_matching_news(headlines: dict[str, Stock]) -> None:
    result = trigger_evaluate(trigger_type="macro", config={"topics": ["匯率", "升息", "通膨"]})
    assert [candidate.topic for candidate in result.candidates] == ["升息", "匯率", "通膨"]
    assert all(candidate.stock is None for candidate in result.candidates)
    top = result.candidates[0]
    assert top.key == "topic:升息"
    assert top.reasons[0]["news_count"] == 2
    assert [headline["title"] for headline in top.reasons[0]["headlines"]] == ["聯準會升息一碼", "市場關注"]
    assert result.candidates[1].reasons[0]["news_count"] == 0


def test_macro_can_require_news_for_a_topic(headlines: dict[str, Stock]) -> None:
    result = trigger_evaluate(trigger_type="macro", config={"topics": ["匯率", "升息"], "require_news": True})
    assert [candidate.topic for candidate in result.candidates] == ["升息"]
    assert [(exclusion.topic, exclusion.code) for exclusion in result.excluded] == [("匯率", "no_news")]
