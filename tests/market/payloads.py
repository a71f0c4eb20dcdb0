"""Hand-written exchange and news payloads in the shapes /work/shared/PLATFORMS.md documents.

Every value is a string, as the exchanges send them: thousands separators, ROC dates, signed changes,
"X0.00" on an ex-dividend day, "--" / "" where a stock did not trade.
"""

from __future__ import annotations

from typing import Any

TWSE_URL = "https://openapi.twse.com.tw/v1/exchangeReport/STOCK_DAY_ALL"
TPEX_URL = "https://www.tpex.org.tw/openapi/v1/tpex_mainboard_daily_close_quotes"
SERPER_URL = "https://google.serper.dev/news"
FEED_URL = "https://money.example.com.tw/rss"


def twse_row(**overrides: str) -> dict[str, Any]:
    row = {
        "Date": "1141126",
        "Code": "2330",
        "Name": "台積電",
        "TradeVolume": "31,234,567",
        "TradeValue": "45,678,901,234",
        "OpeningPrice": "1,455.00",
        "HighestPrice": "1,475.00",
        "LowestPrice": "1,450.00",
        "ClosingPrice": "1,470.00",
        "Change": "+15.00",
        "Transaction": "56,789",
    }
    row.update(overrides)
    return row


# 2025-11-26 (ROC 1141126), a Wednesday and a trading day.
TWSE_DAY: list[dict[str, Any]] = [
    twse_row(),
    twse_row(
        Code="2303",
        Name="聯電",
        TradeVolume="48,120,330",
        TradeValue="2,215,907,112",
        OpeningPrice="46.20",
        HighestPrice="46.35",
        LowestPrice="45.60",
        ClosingPrice="45.70",
        Change="-0.5",
        Transaction="21,004",
    ),
    # Ex-dividend: the change is not comparable and is marked with an X.
    twse_row(
        Code="1101",
        Name="台泥",
        TradeVolume="9,876,000",
        TradeValue="310,228,400",
        OpeningPrice="31.40",
        HighestPrice="31.60",
        LowestPrice="31.30",
        ClosingPrice="31.45",
        Change="X0.00",
        Transaction="4,210",
    ),
    # Suspended: no trade, no prices.
    twse_row(
        Code="2888",
        Name="新光金",
        TradeVolume="0",
        TradeValue="0",
        OpeningPrice="--",
        HighestPrice="--",
        LowestPrice="--",
        ClosingPrice="--",
        Change="",
        Transaction="0",
    ),
    # A listing the stock master does not know yet.
    twse_row(
        Code="7722",
        Name="新上市科技",
        TradeVolume="1,002,000",
        TradeValue="120,240,000",
        OpeningPrice="118.00",
        HighestPrice="121.50",
        LowestPrice="117.50",
        ClosingPrice="120.00",
        Change="+2.00",
        Transaction="812",
    ),
]


def tpex_row(**overrides: str) -> dict[str, Any]:
    row = {
        "Date": "1141126",
        "SecuritiesCompanyCode": "6488",
        "CompanyName": "環球晶",
        "Close": "412.50",
        "Change": "-2.50 ",
        "Open": "415.00",
        "High": "418.00",
        "Low": "410.00",
        "Average": "413.21",
        "TradingShares": "1,234,567",
        "TransactionAmount": "510,123,456",
        "TransactionNumber": "2,345",
        "LatestBidPrice": "412.00",
        "LatesAskPrice": "412.50",
        "Capitals": "4,352,794,840",
        "NextReferencePrice": "412.50",
        "NextLimitUp": "453.50",
        "NextLimitDown": "371.50",
    }
    row.update(overrides)
    return row


TPEX_DAY: list[dict[str, Any]] = [
    tpex_row(),
    # TPEx also writes the date with slashes.
    tpex_row(
        Date="114/11/26",
        SecuritiesCompanyCode="5347",
        CompanyName="世界",
        Close="98.60",
        Change="+1.10",
        Open="97.50",
        High="99.00",
        Low="97.20",
        TradingShares="8,765,432",
        TransactionAmount="861,234,567",
        TransactionNumber="6,001",
    ),
    tpex_row(
        SecuritiesCompanyCode="3105",
        CompanyName="穩懋",
        Close="120.00",
        Change="除息",
        Open="119.50",
        High="121.00",
        Low="119.00",
        TradingShares="2,000,000",
        TransactionAmount="240,100,000",
        TransactionNumber="1,500",
    ),
    tpex_row(
        SecuritiesCompanyCode="8299",
        CompanyName="群聯",
        Close="----",
        Change="",
        Open="----",
        High="----",
        Low="----",
        TradingShares="",
        TransactionAmount="",
        TransactionNumber="",
    ),
]


def dated(rows: list[dict[str, Any]], roc_date: str) -> list[dict[str, Any]]:
    return [{**row, "Date": roc_date} for row in rows]


RSS_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>經濟日報 證券</title>
    <link>https://money.example.com.tw/</link>
    <item>
      <title>台積電法說會 上修全年營收成長</title>
      <link>https://money.example.com.tw/story/101?utm_source=rss&amp;utm_medium=feed</link>
      <description>&lt;p&gt;晶圓代工龍頭&lt;b&gt;台積電&lt;/b&gt;(2330)今日法說會&lt;/p&gt;</description>
      <pubDate>Wed, 26 Nov 2025 06:30:00 GMT</pubDate>
    </item>
    <item>
      <title>統一發票中獎號碼出爐</title>
      <link>https://money.example.com.tw/story/102#top</link>
      <description>財政部公布 2025年 9-10 月統一發票中獎號碼。</description>
      <pubDate>Wed, 26 Nov 2025 05:00:00 GMT</pubDate>
    </item>
    <item>
      <title>沒有連結的項目</title>
    </item>
  </channel>
</rss>
"""

ATOM_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>鉅亨 台股</title>
  <id>urn:example:feed</id>
  <updated>2025-11-26T08:00:00Z</updated>
  <entry>
    <title>中鋼構接單暢旺 中鋼股價走揚</title>
    <link href="https://news.example.com/a/555?utm_campaign=x&amp;page=2"/>
    <id>urn:example:555</id>
    <updated>2025-11-26T07:15:00+08:00</updated>
    <summary>中鋼構(2013)與中鋼(2002)同步上漲。</summary>
  </entry>
</feed>
"""
