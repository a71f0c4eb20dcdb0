from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import respx
from django.db import IntegrityError, transaction

from market.clients.http import MarketDataError, SourceRequestFailed
from market.clients.quotes import Quote
from market.models import DailyQuote, Market, Stock
from market.quotes import QuotesNotPublishedYet, QuoteStoreError, quotes_fetch_day, quotes_store
from tests.factories import DailyQuoteFactory, StockFactory, TradingDayOverrideFactory
from tests.market.payloads import TPEX_DAY, TPEX_URL, TWSE_DAY, TWSE_URL, dated, twse_row

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
DAY = dt.date(2025, 11, 26)
AFTER_CLOSE = dt.datetime(2025, 11, 26, 14, 40, tzinfo=TAIPEI)


@pytest.fixture
def master() -> None:
    for code, name in [("2330", "台積電"), ("2303", "聯電"), ("1101", "台泥"), ("2888", "新光金")]:
        StockFactory(code=code, name=name, market=Market.TWSE)
    for code, name in [("6488", "環球晶"), ("5347", "世界"), ("3105", "穩懋"), ("8299", "群聯")]:
        StockFactory(code=code, name=name, market=Market.TPEX)


def _quote(code: str = "2330", **fields: object) -> Quote:
    values: dict[str, object] = {
        "trade_date": DAY,
        "code": code,
        "name": "台積電",
        "open": Decimal("1455.00"),
        "high": Decimal("1475.00"),
        "low": Decimal("1450.00"),
        "close": Decimal("1470.00"),
        "change": Decimal("15.00"),
        "volume": 31_234_567,
        "turnover": 45_678_901_234,
        "transactions": 56_789,
    }
    values.update(fields)
    return Quote(**values)  # type: ignore[arg-type]


def _stored(code: str, day: dt.date = DAY) -> DailyQuote:
    return DailyQuote.objects.get(stock__code=code, trade_date=day)


def test_fetch_day_stores_every_stock_of_both_exchanges_after_the_close(
    respx_mock: respx.MockRouter, master: None
) -> None:
    respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    result = quotes_fetch_day(now=AFTER_CLOSE)
    assert result.trade_date == DAY
    assert result.stored["TWSE"].quotes == 5 and result.stored["TPEx"].quotes == 4
    assert DailyQuote.objects.filter(trade_date=DAY).count() == 9
    tsmc = _stored("2330")
    assert (tsmc.close, tsmc.change, tsmc.volume, tsmc.turnover, tsmc.transactions) == (
        Decimal("1470.00"),
        Decimal("15.00"),
        31_234_567,
        45_678_901_234,
        56_789,
    )
    assert _stored("6488").close == Decimal("412.50")


def test_a_suspended_stock_is_stored_with_empty_prices_and_zero_volume(
    respx_mock: respx.MockRouter, master: None
) -> None:
    respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    quotes_fetch_day(now=AFTER_CLOSE)
    for code in ("2888", "8299"):
        suspended = _stored(code)
        assert (suspended.open, suspended.high, suspended.low, suspended.close) == (None, None, None, None)
        assert (suspended.volume, suspended.turnover) == (0, 0)


def test_a_stock_the_master_does_not_know_joins_it_from_the_feed(
    respx_mock: respx.MockRouter, master: None
) -> None:
    respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    result = quotes_fetch_day(now=AFTER_CLOSE)
    newcomer = Stock.objects.get(code="7722")
    assert (newcomer.name, newcomer.market, newcomer.industry) == ("新上市科技", "TWSE", "")
    assert result.stored["TWSE"].new_stocks == 1
    assert _stored("7722").close == Decimal("120.00")


def test_a_stock_loaded_without_a_market_learns_it_from_its_exchange() -> None:
    StockFactory(code="6488", name="環球晶", market="")
    quotes_store(quotes=[_quote("6488", name="環球晶")], source=Market.TPEX)
    assert Stock.objects.get(code="6488").market == "TPEx"


def test_storing_the_same_day_twice_changes_nothing_and_a_correction_updates_in_place(master: None) -> None:
    quotes = [_quote("2330"), _quote("2303", name="聯電", open=None, high=None, low=None, close=None)]
    first = quotes_store(quotes=quotes, source=Market.TWSE)
    second = quotes_store(quotes=quotes, source=Market.TWSE)
    assert (first.created, first.updated) == (2, 0)
    assert (second.created, second.updated) == (0, 2)
    assert DailyQuote.objects.count() == 2
    quotes_store(
        quotes=[_quote("2330", close=Decimal("1465.00"), change=Decimal("10.00"))], source=Market.TWSE
    )
    assert DailyQuote.objects.count() == 2
    assert (_stored("2330").close, _stored("2330").change) == (Decimal("1465.00"), Decimal("10.00"))


def test_a_source_still_serving_yesterday_is_not_published_yet_and_nothing_of_it_is_stored(
    respx_mock: respx.MockRouter, master: None
) -> None:
    respx_mock.get(TWSE_URL).respond(json=dated(TWSE_DAY, "1141125"))
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    with pytest.raises(QuotesNotPublishedYet, match=r"TWSE has not published 2025-11-26 yet .*2025-11-25"):
        quotes_fetch_day(now=AFTER_CLOSE)
    twse_codes = [row["Code"] for row in TWSE_DAY]
    assert not DailyQuote.objects.filter(stock__code__in=twse_codes).exists()
    assert not Stock.objects.filter(code="7722").exists()
    # The exchange that has published is stored; a retry of the other one cannot duplicate it.
    assert DailyQuote.objects.filter(trade_date=DAY, stock__market=Market.TPEX).count() == 4


def test_an_empty_answer_counts_as_not_published_yet(respx_mock: respx.MockRouter, master: None) -> None:
    respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    respx_mock.get(TPEX_URL).respond(json=[])
    with pytest.raises(QuotesNotPublishedYet, match=r"TPEx has not published 2025-11-26 yet"):
        quotes_fetch_day(now=AFTER_CLOSE)
    assert DailyQuote.objects.filter(trade_date=DAY).count() == 5


def test_rows_of_an_earlier_day_in_a_fresh_answer_are_left_out_not_relabelled(
    respx_mock: respx.MockRouter, master: None
) -> None:
    respx_mock.get(TWSE_URL).respond(json=[twse_row(), twse_row(Code="2303", Name="聯電", Date="1141125")])
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    quotes_fetch_day(now=AFTER_CLOSE)
    assert list(DailyQuote.objects.filter(stock__code="2303").values_list("trade_date", flat=True)) == []
    assert _stored("2330").trade_date == DAY


def test_before_the_close_the_previous_trading_day_is_fetched(
    respx_mock: respx.MockRouter, master: None
) -> None:
    respx_mock.get(TWSE_URL).respond(json=dated(TWSE_DAY, "1141125"))
    respx_mock.get(TPEX_URL).respond(json=dated(TPEX_DAY, "1141125"))
    result = quotes_fetch_day(now=dt.datetime(2025, 11, 26, 10, 0, tzinfo=TAIPEI))
    assert result.trade_date == dt.date(2025, 11, 25)
    assert DailyQuote.objects.filter(trade_date=dt.date(2025, 11, 25)).count() == 9


def test_on_a_day_the_market_is_closed_nothing_is_fetched(respx_mock: respx.MockRouter) -> None:
    twse_route = respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    result = quotes_fetch_day(now=dt.datetime(2025, 11, 29, 14, 40, tzinfo=TAIPEI))  # Saturday
    assert result.trade_date is None
    assert "2025-11-29 is not a trading day" in result.message
    assert not twse_route.called
    assert not DailyQuote.objects.exists()


def test_a_typhoon_closure_means_nothing_is_fetched(respx_mock: respx.MockRouter) -> None:
    TradingDayOverrideFactory(date=DAY, is_open=False, reason="颱風停止交易")
    twse_route = respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    assert quotes_fetch_day(now=AFTER_CLOSE).trade_date is None
    assert not twse_route.called


def test_one_source_failing_still_stores_the_other_and_raises_its_error(
    respx_mock: respx.MockRouter, master: None
) -> None:
    respx_mock.get(TWSE_URL).respond(503, text="Service Unavailable")
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    with pytest.raises(SourceRequestFailed, match=r"TWSE answered HTTP 503"):
        quotes_fetch_day(now=AFTER_CLOSE)
    assert DailyQuote.objects.filter(trade_date=DAY).count() == 4


def test_both_sources_failing_names_both(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(500)
    respx_mock.get(TPEX_URL).respond(json={"error": "maintenance"})
    with pytest.raises(MarketDataError, match=r"TWSE answered HTTP 500.*TPEx answered with dict") as caught:
        quotes_fetch_day(now=AFTER_CLOSE)
    assert caught.value.source == "TWSE, TPEx"


def test_the_same_stock_twice_in_one_batch_is_refused(master: None) -> None:
    with pytest.raises(QuoteStoreError, match=r"2330 appears twice for 2025-11-26"):
        quotes_store(quotes=[_quote(), _quote(close=Decimal("1.00"))], source=Market.TWSE)
    assert not DailyQuote.objects.exists()


def test_an_unknown_stock_without_a_name_is_refused() -> None:
    with pytest.raises(QuoteStoreError, match=r"9999 is not in the stock master and the data gives no name"):
        quotes_store(quotes=[_quote("9999", name="")], source="")


def test_an_unknown_source_is_refused() -> None:
    with pytest.raises(QuoteStoreError, match=r"Unknown quote source 'NYSE'"):
        quotes_store(quotes=[_quote()], source="NYSE")


# --- Database constraints -------------------------------------------------------------------------


def _violates(**fields: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyQuoteFactory(**fields)


def test_one_quote_per_stock_and_day() -> None:
    first = DailyQuoteFactory()
    _violates(stock=first.stock, trade_date=first.trade_date)
    DailyQuoteFactory(stock=first.stock, trade_date=first.trade_date + dt.timedelta(days=1))


def test_the_high_cannot_be_below_the_low() -> None:
    _violates(high=Decimal("98.00"), low=Decimal("99.00"))


@pytest.mark.parametrize("close", [Decimal("0"), Decimal("-1.00")])
def test_a_close_must_be_positive(close: Decimal) -> None:
    _violates(close=close)


def test_volume_cannot_be_negative() -> None:
    _violates(volume=-1)


def test_a_quote_without_prices_is_allowed_for_a_suspended_day() -> None:
    quote = DailyQuoteFactory(open=None, high=None, low=None, close=None, change=None, volume=0, turnover=0)
    assert quote.close is None


def test_stock_codes_are_unique_and_not_empty() -> None:
    Stock.objects.create(code="2330", name="台積電")
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.create(code="2330", name="另一家")
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.create(code="", name="無代號")


def test_a_stock_market_must_be_twse_tpex_or_empty() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.create(code="1234", name="某公司", market="NYSE")
