"""TWSE OpenAPI (listed stocks, keyless): the latest trading day's close of every stock.

``GET {TWSE_OPENAPI_BASE_URL}/exchangeReport/STOCK_DAY_ALL`` answers a JSON array of string-valued
objects; the exchange publishes the day at about 14:30 Taipei and serves the previous day until then.
"""

from __future__ import annotations

from django.conf import settings

from market.clients.http import request_json
from market.clients.quotes import Quote, QuoteFields, quotes_from_body

SOURCE = "TWSE"

FIELDS = QuoteFields(
    trade_date=("Date",),
    code=("Code",),
    name=("Name",),
    open=("OpeningPrice",),
    high=("HighestPrice",),
    low=("LowestPrice",),
    close=("ClosingPrice",),
    change=("Change",),
    volume=("TradeVolume",),
    turnover=("TradeValue",),
    transactions=("Transaction",),
)


def fetch_daily_quotes() -> list[Quote]:
    url = f"{settings.TWSE_OPENAPI_BASE_URL}/exchangeReport/STOCK_DAY_ALL"
    return quotes_from_body(request_json("GET", url, source=SOURCE), fields=FIELDS, source=SOURCE)
