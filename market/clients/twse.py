"""TWSE OpenAPI (listed stocks, keyless): the latest trading day's close of every stock.

``GET {TWSE_OPENAPI_BASE_URL}/exchangeReport/STOCK_DAY_ALL`` answers a JSON array of string-valued
objects; the exchange publishes the day at about 14:30 Taipei and serves the previous day until then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.conf import settings

from market.clients.http import request_json
from market.clients.quotes import FeedRead, QuoteFields, feed_read

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


def fetch_daily_quotes(
    *, default_date: dt.date | None = None, types: Collection[str] | None = None
) -> FeedRead:
    """The latest day's feed; rows without a Date get ``default_date``, only ``types`` are parsed (None: all)."""
    url = f"{settings.TWSE_OPENAPI_BASE_URL}/exchangeReport/STOCK_DAY_ALL"
    return feed_read(
        request_json("GET", url, source=SOURCE),
        fields=FIELDS,
        source=SOURCE,
        default_date=default_date,
        types=types,
        max_bad_percent=settings.QUOTES_MAX_BAD_ROWS_PERCENT,
    )
