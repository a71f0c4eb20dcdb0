from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest
import respx

from market.clients import tpex, twse
from market.clients.http import MarketDataError, SourceBlocked, SourceRequestFailed, SourceResponseInvalid
from market.clients.quotes import FeedRead, parse_change, parse_price, parse_roc_date, parse_whole
from market.providers import TpexProvider, TwseProvider, default_providers
from tests.market.payloads import TPEX_DAY, TPEX_URL, TWSE_DAY, TWSE_URL, tpex_row, twse_row


def _by_code(read: FeedRead) -> dict:
    return {quote.code: quote for quote in read.quotes}


def test_twse_day_is_parsed_with_roc_dates_separators_and_signed_changes(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    quotes = _by_code(twse.fetch_daily_quotes())
    tsmc = quotes["2330"]
    assert tsmc.trade_date == dt.date(2025, 11, 26)
    assert tsmc.name == "台積電"
    assert (tsmc.open, tsmc.high, tsmc.low, tsmc.close) == (
        Decimal("1455.00"),
        Decimal("1475.00"),
        Decimal("1450.00"),
        Decimal("1470.00"),
    )
    assert tsmc.change == Decimal("15.00")
    assert (tsmc.volume, tsmc.turnover, tsmc.transactions) == (31_234_567, 45_678_901_234, 56_789)
    assert quotes["2303"].change == Decimal("-0.50")
    assert quotes["1101"].change == Decimal("0.00")


def test_a_suspended_twse_stock_keeps_empty_prices_and_zero_volume(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    suspended = _by_code(twse.fetch_daily_quotes())["2888"]
    assert (suspended.open, suspended.high, suspended.low, suspended.close, suspended.change) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert (suspended.volume, suspended.turnover) == (0, 0)


def test_tpex_day_is_parsed_with_both_date_forms_and_ex_dividend_marks(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    quotes = _by_code(tpex.fetch_daily_quotes())
    assert {quote.trade_date for quote in quotes.values()} == {dt.date(2025, 11, 26)}
    wafer = quotes["6488"]
    assert (wafer.name, wafer.close, wafer.change) == ("環球晶", Decimal("412.50"), Decimal("-2.50"))
    assert (wafer.volume, wafer.turnover, wafer.transactions) == (1_234_567, 510_123_456, 2_345)
    assert quotes["3105"].change is None
    suspended = quotes["8299"]
    assert (suspended.close, suspended.volume, suspended.turnover, suspended.transactions) == (
        None,
        0,
        0,
        None,
    )


def test_tpex_volume_fields_are_read_under_their_alternate_names(respx_mock: respx.MockRouter) -> None:
    row = tpex_row()
    row["TradeVolume"] = row.pop("TradingShares")
    row["TradeValue"] = row.pop("TransactionAmount")
    row["Transaction"] = row.pop("TransactionNumber")
    respx_mock.get(TPEX_URL).respond(json=[row])
    (quote,) = tpex.fetch_daily_quotes().quotes
    assert (quote.volume, quote.turnover, quote.transactions) == (1_234_567, 510_123_456, 2_345)


def test_tpex_without_any_volume_field_fails_naming_the_field(respx_mock: respx.MockRouter) -> None:
    row = tpex_row()
    del row["TradingShares"]
    respx_mock.get(TPEX_URL).respond(json=[row])
    with pytest.raises(SourceResponseInvalid, match=r"TPEx row 1 has no field TradingShares") as caught:
        tpex.fetch_daily_quotes()
    assert caught.value.source == "TPEx"


def test_twse_row_missing_its_closing_price_fails_naming_the_field(respx_mock: respx.MockRouter) -> None:
    row = twse_row()
    del row["ClosingPrice"]
    respx_mock.get(TWSE_URL).respond(json=[twse_row(), row])
    with pytest.raises(SourceResponseInvalid, match=r"TWSE row 2 has no field ClosingPrice"):
        twse.fetch_daily_quotes()


def test_an_unreadable_value_names_the_row_field_and_value(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(json=[twse_row(TradeVolume="lots")])
    with pytest.raises(SourceResponseInvalid, match=r"TWSE row 1 field TradeVolume: 'lots' is not a number"):
        twse.fetch_daily_quotes()


def test_a_high_below_the_low_is_refused(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(json=[twse_row(HighestPrice="1,400.00")])
    with pytest.raises(SourceResponseInvalid, match=r"\(2330\): high 1400.00 is below low 1450.00"):
        twse.fetch_daily_quotes()


def test_http_500_names_the_source_and_status(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(500, text="Internal Server Error")
    with pytest.raises(SourceRequestFailed, match=r"TWSE answered HTTP 500") as caught:
        twse.fetch_daily_quotes()
    assert isinstance(caught.value, MarketDataError) and caught.value.source == "TWSE"


def test_a_timeout_names_the_source(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TPEX_URL).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(SourceRequestFailed, match=r"TPEx did not answer within 20.0 seconds"):
        tpex.fetch_daily_quotes()


def test_a_connection_error_names_the_source(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).mock(side_effect=httpx.ConnectError("Name or service not known"))
    with pytest.raises(SourceRequestFailed, match=r"TWSE could not be reached .*Name or service not known"):
        twse.fetch_daily_quotes()


def test_malformed_json_is_a_clear_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(
        200, text='[{"Date": "1141126", "Code": ', headers={"Content-Type": "application/json"}
    )
    with pytest.raises(SourceResponseInvalid, match=r"TWSE did not answer with JSON"):
        twse.fetch_daily_quotes()


def test_an_html_maintenance_page_is_a_clear_error_tried_again_later(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TPEX_URL).respond(200, html="<html><body>系統維護中</body></html>")
    with pytest.raises(SourceBlocked, match=r"TPEx answered with a web page instead of data.*系統維護中"):
        tpex.fetch_daily_quotes()


def test_a_body_that_is_not_a_list_is_refused(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(json={"stat": "很抱歉，沒有符合條件的資料!"})
    with pytest.raises(
        SourceResponseInvalid, match=r"TWSE answered with dict where a list of quotes was expected"
    ):
        twse.fetch_daily_quotes()


def test_a_row_that_is_not_an_object_is_refused(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TPEX_URL).respond(json=[tpex_row(), ["6488", "環球晶"]])
    with pytest.raises(SourceResponseInvalid, match=r"TPEx row 2 is not an object"):
        tpex.fetch_daily_quotes()


def test_the_base_urls_come_from_settings(respx_mock: respx.MockRouter, settings: object) -> None:
    settings.TWSE_OPENAPI_BASE_URL = "https://twse.internal.example/v1"
    route = respx_mock.get("https://twse.internal.example/v1/exchangeReport/STOCK_DAY_ALL").respond(json=[])
    assert twse.fetch_daily_quotes().quotes == []
    assert route.called


def test_providers_share_one_interface_and_name_their_market(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    providers = default_providers()
    assert [(type(p), p.name, p.market) for p in providers] == [
        (TwseProvider, "TWSE", "TWSE"),
        (TpexProvider, "TPEx", "TPEx"),
    ]
    assert [len(provider.fetch_latest().quotes) for provider in providers] == [len(TWSE_DAY), len(TPEX_DAY)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1141126", dt.date(2025, 11, 26)),
        ("114/11/26", dt.date(2025, 11, 26)),
        ("114/1/5", dt.date(2025, 1, 5)),
        ("991231", dt.date(2010, 12, 31)),
        (" 1150102 ", dt.date(2026, 1, 2)),
        ("20251126", dt.date(2025, 11, 26)),
    ],
)
def test_roc_dates_are_read_in_every_form_the_exchanges_use(text: str, expected: dt.date) -> None:
    assert parse_roc_date(text) == expected


@pytest.mark.parametrize("text", ["", "2025-11-26", "1141332", "11411"])
def test_a_date_that_is_not_roc_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_roc_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1.50", Decimal("1.50")),
        ("-0.5", Decimal("-0.50")),
        ("X0.00", Decimal("0.00")),
        ("X-1.20", Decimal("-1.20")),
        (" 10 ", Decimal("10.00")),
        ("", None),
        ("--", None),
        ("X", None),
        ("除權息", None),
    ],
)
def test_changes_are_read_with_sign_or_left_empty(text: str, expected: Decimal | None) -> None:
    assert parse_change(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,025.00", Decimal("1025.00")),
        ("190.2500", Decimal("190.25")),
        ("--", None),
        ("", None),
        ("0.00", None),
    ],
)
def test_prices_are_read_or_left_empty_when_there_was_no_trade(text: str, expected: Decimal | None) -> None:
    assert parse_price(text) == expected


@pytest.mark.parametrize("text", ["-3.00", "abc", "NaN", "1.2.3"])
def test_an_impossible_price_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_price(text)


def test_whole_numbers_accept_separators_and_refuse_fractions() -> None:
    assert parse_whole("45,678,901,234") == 45_678_901_234
    assert parse_whole("--") is None
    with pytest.raises(ValueError):
        parse_whole("12.5")
