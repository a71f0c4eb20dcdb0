"""TPEx OpenAPI (OTC stocks, keyless): the latest trading day's close of every mainboard stock.

``GET {TPEX_OPENAPI_BASE_URL}/tpex_mainboard_daily_close_quotes`` answers a JSON array of string-valued
objects. Its volume, turnover and transaction field names are less certain than TWSE's, so the
documented name is tried first and then the alternates seen in TPEx's other datasets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.conf import settings

from market.clients.http import request_json
from market.clients.quotes import FeedRead, QuoteFields, feed_read

SOURCE = "TPEx"

FIELDS = QuoteFields(
    trade_date=("Date",),
    code=("SecuritiesCompanyCode", "Code", "SecuritiesCode"),
    name=("CompanyName", "Name", "SecuritiesCompanyName"),
    open=("Open", "OpeningPrice"),
    high=("High", "HighestPrice"),
    low=("Low", "LowestPrice"),
    close=("Close", "ClosingPrice"),
    change=("Change",),
    volume=("TradingShares", "TradeVolume", "TradingVolume", "Volume", "TotalVolume"),
    turnover=("TransactionAmount", "TradeValue", "TradingAmount", "TurnoverValue", "Amount"),
    transactions=("TransactionNumber", "Transaction", "TransactionCount", "NumberOfTransactions"),
)


def fetch_daily_quotes(
    *, default_date: dt.date | None = None, types: Collection[str] | None = None
) -> FeedRead:
    """The latest day's feed; rows without a Date get ``default_date``, only ``types`` are parsed (None: all)."""
    url = f"{settings.TPEX_OPENAPI_BASE_URL}/tpex_mainboard_daily_close_quotes"
    return feed_read(
        request_json("GET", url, source=SOURCE),
        fields=FIELDS,
        source=SOURCE,
        default_date=default_date,
        types=types,
        max_bad_percent=settings.QUOTES_MAX_BAD_ROWS_PERCENT,
    )
