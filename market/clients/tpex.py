"""TPEx OpenAPI (OTC stocks, keyless): the latest trading day's close of every mainboard stock.

``GET {TPEX_OPENAPI_BASE_URL}/tpex_mainboard_daily_close_quotes`` answers a JSON array of string-valued
objects. Its volume, turnover and transaction field names are less certain than TWSE's, so the
documented name is tried first and then the alternates seen in TPEx's other datasets.
"""

from __future__ import annotations

from django.conf import settings

from market.clients.http import request_json
from market.clients.quotes import Quote, QuoteFields, quotes_from_body

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


def fetch_daily_quotes() -> list[Quote]:
    url = f"{settings.TPEX_OPENAPI_BASE_URL}/tpex_mainboard_daily_close_quotes"
    return quotes_from_body(request_json("GET", url, source=SOURCE), fields=FIELDS, source=SOURCE)
