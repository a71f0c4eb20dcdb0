from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import cast

import pytest
from django.apps import apps
from django.utils import timezone

from kols.models import KOL
from market.models import Market, Stock
from posting.generation.context import ContextError, context_build, rsi_wilder
from tests.factories import DailyQuoteFactory, KOLFactory, StockFactory

pytestmark = pytest.mark.django_db

START = dt.date(2026, 10, 1)


def _quotes(stock: Stock, closes: list[int], *, volumes: list[int] | None = None) -> None:
    """One quote per day from START: high/low one yuan around the close, change against the day before."""
    for day, close in enumerate(closes):
        previous = closes[day - 1] if day else close - 1
        DailyQuoteFactory(
            stock=stock,
            trade_date=START + dt.timedelta(days=day),
            open=Decimal(previous),
            high=Decimal(close + 1),
            low=Decimal(close - 1),
            close=Decimal(close),
            change=Decimal(close - previous),
            volume=volumes[day] if volumes else 1_000_000,
            turnover=1_280_000_000,
        )


def _kol() -> KOL:
    return cast(KOL, KOLFactory())


@pytest.fixture
def stock() -> Stock:
    return cast(Stock, StockFactory(code="2330", name="台積電", market=Market.TWSE, industry="半導體業"))


def test_the_snapshot_holds_the_latest_quote_and_the_figures_computed_from_25_days(stock: Stock) -> None:
    _quotes(stock, list(range(100, 125)), volumes=[1_000_000] * 24 + [3_000_000])
    snapshot = context_build(kol=_kol(), stock=stock, trigger_reasons=["成交量為20日均量的2.73倍"])

    assert snapshot["as_of"] == "2026-10-25"
    assert snapshot["stock"] == {"code": "2330", "name": "台積電", "market": "TWSE", "industry": "半導體業"}
    assert snapshot["quote"] == {
        "date": "2026-10-25",
        "open": "123.00",
        "high": "125.00",
        "low": "123.00",
        "close": "124.00",
        "change": "1.00",
        "change_pct": "0.81",  # 1 / 123
        "prev_close": "123.00",
        "volume": 3_000_000,
        "volume_lots": 3000,
        "turnover": 1_280_000_000,
        "turnover_100m_twd": "12.80",
        "transactions": 8000,
    }
    figures = snapshot["figures"]
    assert figures["day_range"] == {
        "low": "123.00",
        "high": "125.00",
        "spread": "2.00",
        "amplitude_pct": "1.63",
    }
    assert figures["ma5"] == "122.00"  # 120..124
    assert figures["ma20"] == "114.50"  # 105..124
    assert figures["rsi14"] == "100.00"  # only gains
    assert figures["volume_avg20"] == 1_100_000  # (19 x 1,000,000 + 3,000,000) / 20
    assert figures["volume_avg20_lots"] == 1100
    assert figures["volume_ratio20"] == "2.73"
    assert figures["range_20d"] == {"low": "104.00", "high": "125.00"}
    assert "ma60" not in figures
    assert {"name": "ma60", "reason": "insufficient_history", "needs_days": 60, "have_days": 25} in snapshot[
        "omitted"
    ]
    assert [row["close"] for row in snapshot["history"]][:2] == ["100.00", "101.00"]
    assert len(snapshot["history"]) == 25
    assert snapshot["trigger"]["reasons"] == ["成交量為20日均量的2.73倍"]
    json.dumps(snapshot)


def test_a_stock_without_a_quote_is_an_error_naming_the_stock(stock: Stock) -> None:
    with pytest.raises(ContextError) as caught:
        context_build(kol=_kol(), stock=stock)

    assert "2330" in caught.value.message
    assert "台積電" in caught.value.message


def test_a_suspended_day_without_a_close_is_not_a_quote(stock: Stock) -> None:
    DailyQuoteFactory(
        stock=stock, open=None, high=None, low=None, close=None, change=None, volume=0, turnover=0
    )
    with pytest.raises(ContextError):
        context_build(kol=_kol(), stock=stock)


def test_indicators_without_enough_days_are_omitted_with_the_reason(stock: Stock) -> None:
    _quotes(stock, [100, 102, 101])
    snapshot = context_build(kol=_kol(), stock=stock)

    assert set(snapshot["figures"]) == {"day_range"}
    omitted = {entry["name"]: entry for entry in snapshot["omitted"]}
    assert omitted["ma5"] == {
        "name": "ma5",
        "reason": "insufficient_history",
        "needs_days": 5,
        "have_days": 3,
    }
    assert omitted["ma20"]["needs_days"] == 20
    assert omitted["rsi14"]["needs_days"] == 15
    assert {"volume_ratio20", "range_20d", "macd", "kd"} <= set(omitted)
    assert snapshot["quote"]["change_pct"] == "-0.98"  # -1 / 102


def test_history_keeps_the_last_60_days_and_as_of_cuts_off_later_days(stock: Stock) -> None:
    _quotes(stock, list(range(100, 170)))
    latest = context_build(kol=_kol(), stock=stock)
    earlier = context_build(kol=_kol(), stock=stock, as_of=START + dt.timedelta(days=9))

    assert len(latest["history"]) == 60
    assert latest["history"][0]["close"] == "110.00"
    assert latest["figures"]["ma60"] == "139.50"  # 110..169
    assert earlier["as_of"] == "2026-10-10"
    assert earlier["quote"]["close"] == "109.00"
    assert len(earlier["history"]) == 10


def test_rsi_uses_wilders_averages_of_gains_and_losses() -> None:
    closes = [
        Decimal(value)
        for value in [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 109, 108, 107, 106]
    ]
    # 10 gains and 4 losses of one yuan: RS = 10/4, RSI = 100 - 100 / 3.5
    assert rsi_wilder(closes).quantize(Decimal("0.01")) == Decimal("71.43")


def test_news_is_included_only_from_the_news_model_and_only_for_the_stock(stock: Stock) -> None:
    try:
        news_model = apps.get_model("market", "NewsItem")
    except LookupError:
        pytest.skip("market.NewsItem is not installed")
    _quotes(stock, [100, 101])
    now = timezone.now()
    recent = news_model.objects.create(
        origin="feed",
        url="https://news.example.com/a",
        title="台積電法說會釋出展望",
        snippet="法說會重點整理",
        source="經濟日報",
        published_at=now - dt.timedelta(hours=2),
        fetched_at=now,
    )
    recent.stocks.add(stock)
    stale = news_model.objects.create(
        origin="feed", url="https://news.example.com/b", title="舊聞", fetched_at=now - dt.timedelta(days=10)
    )
    stale.stocks.add(stock)
    news_model.objects.create(
        origin="feed", url="https://news.example.com/c", title="別檔新聞", fetched_at=now
    )

    snapshot = context_build(kol=_kol(), stock=stock)

    assert [item["title"] for item in snapshot["news"]] == ["台積電法說會釋出展望"]
    assert snapshot["news"][0]["summary"] == "法說會重點整理"
    assert snapshot["news"][0]["source"] == "經濟日報"
    assert all(entry["name"] != "news" for entry in snapshot["omitted"])


def test_no_news_means_an_empty_list_and_a_stated_reason_never_invented_items(stock: Stock) -> None:
    _quotes(stock, [100, 101])
    snapshot = context_build(kol=_kol(), stock=stock)

    assert snapshot["news"] == []
    news_entries = [entry for entry in snapshot["omitted"] if entry["name"] == "news"]
    assert news_entries[0]["reason"] in {"no_news_source", "no_recent_news", "news_not_linked_to_stocks"}
