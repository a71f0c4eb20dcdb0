"""The market-data clients and the daily fetch held against real exchange answers (tests/market/data/real/)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import respx
from django.core.management import CommandError, call_command

from market.clients import tpex, twse
from market.clients.http import SourceBlocked, SourceResponseInvalid
from market.instruments import instrument_type_of
from market.models import DailyQuote, InstrumentType, Stock
from market.providers import TwseProvider
from market.quotes import QuotesNotPublishedYet, quotes_fetch_day
from tests.factories import DailyQuoteFactory, StockFactory
from tests.market.payloads import TPEX_URL, TWSE_URL
from tests.market.real_files import tpex_excerpt, twse_blocked_page, twse_day

TAIPEI = ZoneInfo("Asia/Taipei")
TWSE_DAY_DATE = dt.date(2026, 7, 8)
AFTER_PUBLISHING = dt.datetime(2026, 7, 8, 14, 40, tzinfo=TAIPEI)
COMMON_AND_ETF = ["common", "etf"]


def test_every_row_of_the_real_twse_day_gets_its_instrument_type() -> None:
    counts = Counter(instrument_type_of(row["Code"], row["Name"]) for row in twse_day())
    assert counts == {
        InstrumentType.COMMON: 1078,
        InstrumentType.ETF: 232,
        InstrumentType.PREFERRED: 28,
        InstrumentType.ETN: 15,
        InstrumentType.TDR: 10,
        InstrumentType.REIT: 6,
    }
    assert sum(counts.values()) == 1369


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        ("2330", "台積電", InstrumentType.COMMON),
        ("5871", "中租-KY", InstrumentType.COMMON),
        ("2254", "巨鎧精密-創", InstrumentType.COMMON),
        ("0050", "元大台灣50", InstrumentType.ETF),
        ("00632R", "元大台灣50反1", InstrumentType.ETF),
        ("00679B", "元大美債20年", InstrumentType.ETF),
        ("00981T", "平衡凱基雙核收息", InstrumentType.ETF),
        ("020000", "富邦特選蘋果N", InstrumentType.ETN),
        ("02001L", "富邦蘋果正二N", InstrumentType.ETN),
        ("01001T", "土銀富邦R1", InstrumentType.REIT),
        ("9103", "美德醫療-DR", InstrumentType.TDR),
        ("910322", "康師傅-DR", InstrumentType.TDR),
        ("2881A", "富邦特", InstrumentType.PREFERRED),
        ("2887Z1", "台新新光己特", InstrumentType.PREFERRED),
        ("030001", "台積電元大5A購01", InstrumentType.WARRANT),
        ("03001P", "台積電元大5A售01", InstrumentType.WARRANT),
        ("712345", "環球晶凱基5B購01", InstrumentType.WARRANT),
        ("71234P", "環球晶凱基5B售01", InstrumentType.WARRANT),
        ("23301", "台積電一", InstrumentType.OTHER),
    ],
)
def test_instrument_type_rules(code: str, name: str, expected: InstrumentType) -> None:
    assert instrument_type_of(code, name) == expected


def test_the_real_twse_day_keeps_common_stocks_and_etfs_and_counts_the_rest(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(TWSE_URL).respond(json=twse_day())
    read = twse.fetch_daily_quotes(types=COMMON_AND_ETF)
    assert (read.rows, len(read.quotes), read.bad) == (1369, 1078 + 232, 0)
    assert read.not_stored == {"preferred": 28, "etn": 15, "tdr": 10, "reit": 6}
    quotes = {quote.code: quote for quote in read.quotes}
    tsmc = quotes["2330"]
    assert (tsmc.trade_date, tsmc.close, tsmc.change, tsmc.volume) == (
        TWSE_DAY_DATE,
        Decimal("2465.00"),
        Decimal("25.00"),
        25_519_599,
    )
    untraded = quotes["00625K"]  # "0.00" prices in 2026 mean no trade
    assert (untraded.close, untraded.volume) == (None, 0)


def test_the_real_tpex_excerpt_is_parsed_with_its_markers_and_trailing_spaces(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(TPEX_URL).respond(json=tpex_excerpt())
    read = tpex.fetch_daily_quotes()
    assert (read.rows, len(read.quotes), read.bad) == (20, 20, 0)
    quotes = {quote.code: quote for quote in read.quotes}
    assert {quote.trade_date for quote in read.quotes} == {dt.date(2026, 9, 7)}
    untraded_etn = quotes["020035"]  # " ---" close, "--- " change
    assert (untraded_etn.close, untraded_etn.change, untraded_etn.volume) == (None, None, 0)
    assert quotes["020041"].change == Decimal("0.97")
    assert quotes["1240"].change == Decimal("-0.20")  # "-0.20 "
    ex_dividend = quotes["1268"]  # "除息 "
    assert (ex_dividend.close, ex_dividend.change) == (Decimal("171.00"), None)
    assert read.types["020035"] == "etn" and read.types["1240"] == "common"


def test_the_real_block_page_is_recognised_as_source_blocked(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(200, text=twse_blocked_page(), headers={"Content-Type": "text/html"})
    with pytest.raises(SourceBlocked, match=r"TWSE answered with a web page.*FOR SECURITY REASONS") as caught:
        twse.fetch_daily_quotes()
    assert caught.value.source == "TWSE" and caught.value.code == "market_source_blocked"


def test_the_block_page_is_recognised_even_when_labelled_json(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(
        200, text=twse_blocked_page(), headers={"Content-Type": "application/json"}
    )
    with pytest.raises(SourceBlocked):
        twse.fetch_daily_quotes()


def test_too_many_bad_rows_fail_the_feed_naming_the_first(
    respx_mock: respx.MockRouter, settings: object
) -> None:
    settings.QUOTES_MAX_BAD_ROWS_PERCENT = 1.0
    rows = twse_day()
    for row in rows[300:330]:  # 30 of about 1,310 stored-type rows: 2.3 %
        row["ClosingPrice"] = "n/a"
    respx_mock.get(TWSE_URL).respond(json=rows)
    with pytest.raises(
        SourceResponseInvalid, match=r"TWSE: 30 of 1310 rows are bad, more than 1.0%.*row 301"
    ):
        twse.fetch_daily_quotes(types=COMMON_AND_ETF)


def test_a_feed_whose_stock_rows_cannot_be_read_fails(respx_mock: respx.MockRouter) -> None:
    rows = [dict(row, TradeVolume="lots") for row in twse_day() if len(row["Code"]) == 4][:5]
    respx_mock.get(TWSE_URL).respond(json=rows)
    with pytest.raises(SourceResponseInvalid, match=r"none of its stock rows could be read"):
        twse.fetch_daily_quotes()


@pytest.mark.django_db
def test_a_real_day_with_one_malformed_row_stores_all_the_others(respx_mock: respx.MockRouter) -> None:
    rows = twse_day()
    broken = next(row for row in rows if row["Code"] == "2317")
    broken["HighestPrice"] = "230.00"  # below its low
    del next(row for row in rows if row["Code"] == "2303")["Change"]
    respx_mock.get(TWSE_URL).respond(json=rows)
    result = quotes_fetch_day(now=AFTER_PUBLISHING, providers=[TwseProvider()])
    outcome = result.feeds["TWSE"]
    assert outcome.skipped == {"high_below_low": 1, "missing_field": 1}
    assert outcome.stored.quotes == 1078 + 232 - 2
    assert DailyQuote.objects.filter(trade_date=TWSE_DAY_DATE).count() == 1308
    assert not DailyQuote.objects.filter(stock__code__in=["2317", "2303"]).exists()
    assert any("2317" in problem for problem in outcome.problems)
    # Only common stocks and ETFs joined the master, each with its type.
    assert outcome.stored.new_by_type == {"common": 1076, "etf": 232}
    assert not Stock.objects.filter(instrument_type__in=["preferred", "etn", "tdr", "reit"]).exists()
    assert Stock.objects.get(code="00632R").instrument_type == "etf"


@pytest.mark.django_db
def test_warrants_never_reach_the_master_unless_a_setting_asks(
    respx_mock: respx.MockRouter, settings: object
) -> None:
    warrant = dict(tpex_excerpt()[5], SecuritiesCompanyCode="712345", CompanyName="環球晶凱基5B購01")
    rows = [*tpex_excerpt(), warrant]
    respx_mock.get(TPEX_URL).respond(json=rows)
    moment = dt.datetime(2026, 9, 7, 15, 0, tzinfo=TAIPEI)
    from market.providers import TpexProvider

    outcome = quotes_fetch_day(now=moment, providers=[TpexProvider()]).feeds["TPEx"]
    assert outcome.not_stored == {"etn": 3, "warrant": 1}
    assert not Stock.objects.filter(code="712345").exists()
    settings.QUOTES_STORED_TYPES = ["common", "etf", "warrant"]
    quotes_fetch_day(now=moment, providers=[TpexProvider()])
    assert Stock.objects.get(code="712345").instrument_type == "warrant"


def _undated() -> list[dict[str, str]]:
    rows = twse_day()
    for row in rows:
        del row["Date"]
    return rows


def _store_previous_day_closes(rows: list[dict[str, str]], day: dt.date) -> None:
    """What the day before 2026-07-08 closed at: each stock's close minus its change."""
    for row in rows[:200]:
        close, change = Decimal(row["ClosingPrice"]), Decimal(row["Change"])
        if close and len(row["Code"]) == 4:
            stock = StockFactory(code=row["Code"], name=row["Name"], market="TWSE")
            DailyQuoteFactory(
                stock=stock, trade_date=day, close=close - change, high=None, low=None, open=None
            )


@pytest.mark.django_db
def test_a_dateless_feed_is_stored_under_the_trading_day_it_serves(respx_mock: respx.MockRouter) -> None:
    rows = _undated()
    _store_previous_day_closes(rows, dt.date(2026, 7, 7))
    respx_mock.get(TWSE_URL).respond(json=rows)
    result = quotes_fetch_day(now=AFTER_PUBLISHING, providers=[TwseProvider()])
    assert result.trade_date == TWSE_DAY_DATE and result.feeds["TWSE"].undated == 1310
    assert DailyQuote.objects.get(stock__code="2330", trade_date=TWSE_DAY_DATE).close == Decimal("2465.00")


@pytest.mark.django_db
def test_a_dateless_feed_still_serving_yesterday_is_never_stored_as_today(
    respx_mock: respx.MockRouter,
) -> None:
    rows = _undated()
    _store_previous_day_closes(rows, dt.date(2026, 7, 7))
    respx_mock.get(TWSE_URL).respond(json=rows)
    quotes_fetch_day(now=AFTER_PUBLISHING, providers=[TwseProvider()])
    # The next day, 14:40: the exchange has not published 07-09 yet and still serves 07-08 without dates.
    next_day = dt.datetime(2026, 7, 9, 14, 40, tzinfo=TAIPEI)
    with pytest.raises(QuotesNotPublishedYet, match=r"without dates .* still serves an earlier day"):
        quotes_fetch_day(now=next_day, providers=[TwseProvider()])
    assert not DailyQuote.objects.filter(trade_date=dt.date(2026, 7, 9)).exists()


@pytest.mark.django_db
def test_a_dateless_feed_with_nothing_to_compare_waits_until_well_after_publishing(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(TWSE_URL).respond(json=_undated())
    with pytest.raises(QuotesNotPublishedYet):
        quotes_fetch_day(now=AFTER_PUBLISHING, providers=[TwseProvider()])
    assert not DailyQuote.objects.exists()
    later = dt.datetime(2026, 7, 8, 15, 40, tzinfo=TAIPEI)
    assert quotes_fetch_day(now=later, providers=[TwseProvider()]).trade_date == TWSE_DAY_DATE


@pytest.mark.django_db
def test_a_blocked_source_raises_source_blocked_after_storing_the_other(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(200, text=twse_blocked_page(), headers={"Content-Type": "text/html"})
    respx_mock.get(TPEX_URL).respond(json=[dict(row, Date="1150708") for row in tpex_excerpt()])
    with pytest.raises(SourceBlocked):
        quotes_fetch_day(now=AFTER_PUBLISHING)
    assert DailyQuote.objects.filter(trade_date=TWSE_DAY_DATE, stock__market="TPEx").count() == 17


@pytest.mark.django_db
def test_fetch_quotes_command_prints_a_summary_per_exchange(respx_mock: respx.MockRouter) -> None:
    import time_machine

    rows = twse_day()
    rows[10]["ClosingPrice"] = "??"
    twse_route = respx_mock.get(TWSE_URL).respond(json=rows)
    tpex_route = respx_mock.get(TPEX_URL).respond(json=[])
    out = StringIO()
    with time_machine.travel(AFTER_PUBLISHING, tick=False):
        call_command("fetch_quotes", "--source", "twse", "--date", "2026-07-08", stdout=out)
    text = out.getvalue()
    assert twse_route.called and not tpex_route.called
    assert "TWSE: 1369 rows read" in text
    assert "1309 stored" in text and "unreadable_value 1" in text
    assert "etn 15, preferred 28, reit 6, tdr 10" in text and "common 1078, etf 231" in text
    assert "Quotes for 2026-07-08 stored from TWSE." in text


@pytest.mark.django_db
def test_fetch_quotes_command_refuses_a_bad_date_and_a_day_not_closed_yet() -> None:
    import time_machine

    with pytest.raises(CommandError, match=r"--date must be a date like"):
        call_command("fetch_quotes", "--date", "July 8th")
    with (
        time_machine.travel(AFTER_PUBLISHING, tick=False),
        pytest.raises(CommandError, match=r"not closed yet"),
    ):
        call_command("fetch_quotes", "--date", "2026-07-09")


@pytest.mark.django_db
def test_the_feed_refreshes_names_and_markets_and_marks_the_stocks_seen(respx_mock: respx.MockRouter) -> None:
    StockFactory(code="2330", name="台灣積體電路", market="TPEx")
    respx_mock.get(TWSE_URL).respond(json=twse_day())
    outcome = quotes_fetch_day(now=AFTER_PUBLISHING, providers=[TwseProvider()]).feeds["TWSE"]
    tsmc = Stock.objects.get(code="2330")
    assert (tsmc.name, tsmc.market, tsmc.last_seen_on) == ("台積電", "TWSE", TWSE_DAY_DATE)
    assert outcome.stored.refreshed == 1


@pytest.mark.django_db
def test_a_stock_absent_from_its_feed_for_ten_trading_days_becomes_inactive_and_returns(
    respx_mock: respx.MockRouter,
) -> None:
    from market.quotes import stocks_deactivate_absent

    gone = StockFactory(code="1188", name="下市公司", market="TWSE", last_seen_on=dt.date(2026, 6, 23))
    recent = StockFactory(code="1235", name="暫停一天", market="TWSE", last_seen_on=dt.date(2026, 7, 7))
    tpex_stock = StockFactory(code="6488", name="環球晶", market="TPEx", last_seen_on=dt.date(2026, 6, 1))
    # 2026-06-24 .. 2026-07-08 holds ten trading days: last seen 06-23 is absent from all ten.
    assert stocks_deactivate_absent(market="TWSE", day=TWSE_DAY_DATE, types=COMMON_AND_ETF) == 1
    gone.refresh_from_db()
    recent.refresh_from_db()
    tpex_stock.refresh_from_db()
    assert (gone.is_active, recent.is_active, tpex_stock.is_active) == (False, True, True)
    DailyQuoteFactory(stock=gone, trade_date=dt.date(2026, 6, 23))
    rows = [dict(twse_day()[500], Code="1188", Name="下市公司")]
    respx_mock.get(TWSE_URL).respond(json=[*twse_day(), *rows])
    quotes_fetch_day(now=AFTER_PUBLISHING, providers=[TwseProvider()])
    gone.refresh_from_db()
    assert gone.is_active and gone.quotes.count() == 2


@pytest.mark.django_db
def test_the_quote_task_retries_a_blocked_source(respx_mock: respx.MockRouter) -> None:
    import time_machine
    from celery.signals import task_retry

    from market.tasks import fetch_daily_quotes

    respx_mock.get(TWSE_URL).respond(200, text=twse_blocked_page(), headers={"Content-Type": "text/html"})
    respx_mock.get(TPEX_URL).respond(json=[dict(row, Date="1150708") for row in tpex_excerpt()])
    retries: list[object] = []

    def record(request: object, reason: object, **kwargs: object) -> None:
        retries.append(reason)

    task_retry.connect(record)
    try:
        with time_machine.travel(AFTER_PUBLISHING, tick=False):
            outcome = fetch_daily_quotes.apply()
    finally:
        task_retry.disconnect(record)
    assert isinstance(outcome.result, SourceBlocked)
    assert len(retries) == 24
