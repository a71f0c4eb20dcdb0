from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from market.clients import rss, serper
from market.clients.http import SourceNotConfigured, SourceRequestFailed, SourceResponseInvalid
from market.models import NewsFeed, NewsItem
from market.news import NewsQueryInvalid, StockMatcher, news_fetch, news_fetch_feeds, url_normalise
from tests.factories import NewsFeedFactory, NewsItemFactory, StockFactory
from tests.market.payloads import ATOM_FEED, RSS_FEED, SERPER_URL

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = dt.datetime(2025, 11, 26, 15, 0, tzinfo=TAIPEI)

SERPER_NEWS = {
    "searchParameters": {"q": "台積電 2330", "type": "news"},
    "news": [
        {
            "title": "台積電法說會 上修全年營收成長",
            "link": "https://money.example.com.tw/story/101?utm_source=google&utm_medium=news",
            "snippet": "晶圓代工龍頭台積電(2330)今日法說會...",
            "date": "3 hours ago",
            "source": "經濟日報",
            "position": 1,
        },
        {
            "title": "聯電與台積電 先進製程競賽",
            "link": "https://news.example.com/a/9",
            "snippet": "聯電股價今天小漲。",
            "date": "45 分鐘前",
            "source": "鉅亨網",
            "position": 2,
        },
        {
            "title": "同一篇文章的另一個連結",
            "link": "https://money.example.com.tw/story/101#comments",
            "snippet": "",
            "date": "Nov 25, 2025",
            "source": "經濟日報",
            "position": 3,
        },
        {"title": "沒有連結", "snippet": "no link here", "date": "1 day ago"},
    ],
}


@pytest.fixture
def serper_key(settings: Any) -> None:
    settings.SERPER_API_KEY = "test-key"


@pytest.fixture
def stocks() -> None:
    for code, name in [
        ("2330", "台積電"),
        ("2303", "聯電"),
        ("2002", "中鋼"),
        ("2013", "中鋼構"),
        ("1216", "統一"),
        ("2025", "千興"),
        ("1101", "台泥"),
    ]:
        StockFactory(code=code, name=name)


# --- Serper -----------------------------------------------------------------------------------------


def test_serper_is_called_with_the_key_and_the_taiwan_parameters(
    respx_mock: respx.MockRouter, serper_key: None
) -> None:
    route = respx_mock.post(SERPER_URL).respond(json={"news": []})
    assert serper.search_news(query="台積電 2330", num=5, now=NOW) == []
    request = route.calls.last.request
    assert request.headers["X-API-KEY"] == "test-key"
    assert httpx.Response(200, content=request.content).json() == {
        "q": "台積電 2330",
        "num": 5,
        "gl": "tw",
        "hl": "zh-tw",
        "tbs": "qdr:d",
    }


def test_serper_news_results_are_parsed_with_relative_dates(
    respx_mock: respx.MockRouter, serper_key: None
) -> None:
    respx_mock.post(SERPER_URL).respond(json=SERPER_NEWS)
    entries = serper.search_news(query="台積電 2330", now=NOW)
    assert [entry.title for entry in entries] == [
        "台積電法說會 上修全年營收成長",
        "聯電與台積電 先進製程競賽",
        "同一篇文章的另一個連結",
    ]
    assert entries[0].published_at == NOW - dt.timedelta(hours=3)
    assert entries[0].source == "經濟日報"
    assert entries[1].published_at == NOW - dt.timedelta(minutes=45)
    assert entries[2].published_at == dt.datetime(2025, 11, 25, tzinfo=TAIPEI)


def test_serper_organic_results_are_read_when_there_is_no_news_list(
    respx_mock: respx.MockRouter, serper_key: None
) -> None:
    organic = {"organic": [{"title": "台泥減碳", "link": "https://x.example/1", "snippet": "台泥(1101)"}]}
    respx_mock.post(SERPER_URL).respond(json=organic)
    (entry,) = serper.search_news(query="台泥", now=NOW)
    assert (entry.title, entry.url, entry.published_at) == ("台泥減碳", "https://x.example/1", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 hours ago", dt.timedelta(hours=3)),
        ("1 hour ago", dt.timedelta(hours=1)),
        ("an hour ago", dt.timedelta(hours=1)),
        ("5 mins ago", dt.timedelta(minutes=5)),
        ("2 days ago", dt.timedelta(days=2)),
        ("1 week ago", dt.timedelta(weeks=1)),
        ("3 小時前", dt.timedelta(hours=3)),
        ("10 分鐘前", dt.timedelta(minutes=10)),
        ("2天前", dt.timedelta(days=2)),
    ],
)
def test_relative_serper_dates_are_read_against_now(text: str, expected: dt.timedelta) -> None:
    assert serper.parse_date(text, now=NOW) == NOW - expected


@pytest.mark.parametrize("text", ["", "recently", "2 months ago", "上週", "Q3 2025"])
def test_unreadable_serper_dates_stay_empty(text: str) -> None:
    assert serper.parse_date(text, now=NOW) is None


def test_serper_without_a_key_refuses_clearly(respx_mock: respx.MockRouter, settings: Any) -> None:
    settings.SERPER_API_KEY = ""
    route = respx_mock.post(SERPER_URL).respond(json={"news": []})
    with pytest.raises(SourceNotConfigured, match=r"set SERPER_API_KEY"):
        serper.search_news(query="台積電")
    assert not route.called


def test_serper_rejecting_the_key_names_the_status(respx_mock: respx.MockRouter, serper_key: None) -> None:
    respx_mock.post(SERPER_URL).respond(403, json={"message": "Unauthorized.", "statusCode": 403})
    with pytest.raises(SourceRequestFailed, match=r"Serper answered HTTP 403.*Unauthorized"):
        serper.search_news(query="台積電")


def test_serper_answer_without_results_list_is_refused(
    respx_mock: respx.MockRouter, serper_key: None
) -> None:
    respx_mock.post(SERPER_URL).respond(json={"credits": 1})
    with pytest.raises(SourceResponseInvalid, match=r"Serper answered without a news or organic list"):
        serper.search_news(query="台積電")


# --- RSS and Atom -----------------------------------------------------------------------------------


def test_an_rss_feed_is_parsed_to_plain_text_entries(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://money.example.com.tw/rss").respond(
        text=RSS_FEED, headers={"Content-Type": "application/rss+xml; charset=utf-8"}
    )
    entries = rss.fetch_feed(url="https://money.example.com.tw/rss", source="經濟日報")
    assert len(entries) == 2  # the entry without a link is skipped
    first = entries[0]
    assert first.title == "台積電法說會 上修全年營收成長"
    assert first.snippet == "晶圓代工龍頭台積電(2330)今日法說會"
    assert first.published_at == dt.datetime(2025, 11, 26, 6, 30, tzinfo=dt.UTC)
    assert first.source == "經濟日報"


def test_an_atom_feed_is_parsed_with_its_offset_times(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://news.example.com/atom").respond(text=ATOM_FEED)
    (entry,) = rss.fetch_feed(url="https://news.example.com/atom", source="鉅亨")
    assert entry.url == "https://news.example.com/a/555?utm_campaign=x&page=2"
    assert entry.published_at == dt.datetime(2025, 11, 25, 23, 15, tzinfo=dt.UTC)


def test_a_big5_feed_is_decoded_from_its_declared_charset(respx_mock: respx.MockRouter) -> None:
    body = RSS_FEED.replace('encoding="UTF-8"', 'encoding="big5"').encode("big5", errors="ignore")
    respx_mock.get("https://old.example.com.tw/rss").respond(
        content=body, headers={"Content-Type": "text/xml; charset=big5"}
    )
    entries = rss.fetch_feed(url="https://old.example.com.tw/rss", source="舊站")
    assert entries[0].title == "台積電法說會 上修全年營收成長"


def test_a_page_that_is_not_a_feed_is_refused(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://example.com/").respond(text="not a feed at all, just words")
    with pytest.raises(SourceResponseInvalid, match=r"首頁 is not an RSS or Atom feed"):
        rss.fetch_feed(url="https://example.com/", source="首頁")


# --- URLs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/story/1?utm_source=x&utm_medium=y", "https://a.example/story/1"),
        ("https://a.example/story/1?id=5&utm_campaign=z#comments", "https://a.example/story/1?id=5"),
        ("HTTPS://A.Example/Story/1?fbclid=abc", "https://a.example/Story/1"),
        ("https://a.example", "https://a.example/"),
        ("https://a.example/s?b=2&a=1", "https://a.example/s?b=2&a=1"),
    ],
)
def test_urls_are_normalised_without_tracking_parameters_or_fragment(url: str, expected: str) -> None:
    assert url_normalise(url) == expected


# --- Storing Serper news ----------------------------------------------------------------------------


def test_news_fetch_stores_each_article_once_and_matches_its_stocks(
    respx_mock: respx.MockRouter, serper_key: None, stocks: None
) -> None:
    respx_mock.post(SERPER_URL).respond(json=SERPER_NEWS)
    result = news_fetch(query="台積電 2330", now=NOW)
    assert (result.created, result.duplicates) == (2, 1)
    assert NewsItem.objects.count() == 2
    item = NewsItem.objects.get(url="https://money.example.com.tw/story/101")
    assert (item.origin, item.source, item.query, item.fetched_at) == (
        "serper",
        "經濟日報",
        "台積電 2330",
        NOW,
    )
    assert item.raw["position"] == 1
    assert {stock.code for stock in item.stocks.all()} == {"2330"}
    both = NewsItem.objects.get(url="https://news.example.com/a/9")
    assert {stock.code for stock in both.stocks.all()} == {"2303", "2330"}
    assert [entry.url for entry in result.items] == [
        "https://news.example.com/a/9",
        "https://money.example.com.tw/story/101",
    ]


def test_fetching_the_same_news_again_stores_nothing_new(
    respx_mock: respx.MockRouter, serper_key: None, stocks: None
) -> None:
    respx_mock.post(SERPER_URL).respond(json=SERPER_NEWS)
    news_fetch(query="台積電 2330", now=NOW)
    again = news_fetch(query="台積電", now=NOW + dt.timedelta(hours=1))
    assert (again.created, again.duplicates) == (0, 3)
    assert NewsItem.objects.count() == 2
    assert len(again.items) == 2


def test_an_empty_search_stores_no_news(respx_mock: respx.MockRouter, serper_key: None) -> None:
    respx_mock.post(SERPER_URL).respond(json={"news": []})
    result = news_fetch(query="沒有新聞的公司", now=NOW)
    assert (result.created, result.items) == (0, [])
    assert not NewsItem.objects.exists()


def test_an_empty_query_is_refused() -> None:
    with pytest.raises(NewsQueryInvalid):
        news_fetch(query="   ")


# --- Stock matching ---------------------------------------------------------------------------------


def _matched(text: str) -> set[str]:
    matcher = StockMatcher.from_master()
    codes = {stock_id: code for code, stock_id in matcher.by_code.items()}
    return {codes[stock_id] for stock_id in matcher.match(text)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("台積電(2330)法說會", {"2330"}),
        ("2330 與 2303 同步走高", {"2330", "2303"}),
        ("中鋼構接單暢旺", {"2013"}),
        ("中鋼構與中鋼同步上漲", {"2013", "2002"}),
        ("中鋼股價走揚", {"2002"}),
        ("「台泥」減碳有成", {"1101"}),
        ("統一發票中獎號碼出爐", set()),
        ("統一漲停", {"1216"}),
        ("2025年營收創新高", set()),
        ("2025 年展望", set()),
        ("2025/11/26 盤後", set()),
        ("指數收 2303點", set()),
        ("目標價 1101元", set()),
        ("成交 12,330 張", set()),
        ("代號 23300 不存在", set()),
        ("千興(2025)今日漲停", {"2025"}),
    ],
)
def test_stocks_are_matched_by_code_and_name_but_not_inside_other_words(
    stocks: None, text: str, expected: set[str]
) -> None:
    assert _matched(text) == expected


# --- Feeds ------------------------------------------------------------------------------------------


def test_feeds_are_fetched_and_one_failing_feed_records_its_error(
    respx_mock: respx.MockRouter, stocks: None
) -> None:
    good = NewsFeedFactory(name="經濟日報", url="https://money.example.com.tw/rss")
    atom = NewsFeedFactory(name="鉅亨", url="https://news.example.com/atom")
    broken = NewsFeedFactory(name="壞掉的", url="https://broken.example.com/rss", last_error="")
    NewsFeedFactory(name="停用的", url="https://off.example.com/rss", is_active=False)
    respx_mock.get(str(good.url)).respond(text=RSS_FEED)
    respx_mock.get(str(atom.url)).respond(text=ATOM_FEED)
    respx_mock.get(str(broken.url)).respond(502, text="Bad Gateway")
    result = news_fetch_feeds(now=NOW)
    assert (result.feeds, result.failed, result.created) == (3, 1, 3)
    broken.refresh_from_db()
    assert "壞掉的 answered HTTP 502" in broken.last_error and broken.last_error_at == NOW
    good.refresh_from_db()
    assert (good.last_fetched_at, good.last_error) == (NOW, "")
    story = NewsItem.objects.get(url="https://money.example.com.tw/story/101")
    assert (story.feed, story.origin, story.source) == (good, "feed", "經濟日報")
    assert {s.code for s in story.stocks.all()} == {"2330"}
    invoice = NewsItem.objects.get(url="https://money.example.com.tw/story/102")
    assert not invoice.stocks.exists()
    steel = NewsItem.objects.get(url="https://news.example.com/a/555?page=2")
    assert {s.code for s in steel.stocks.all()} == {"2002", "2013"}


def test_a_feed_that_recovers_clears_its_error(respx_mock: respx.MockRouter) -> None:
    feed = NewsFeedFactory(
        url="https://money.example.com.tw/rss", last_error="old failure", last_error_at=NOW
    )
    respx_mock.get(str(feed.url)).respond(text=RSS_FEED)
    news_fetch_feeds(now=NOW + dt.timedelta(minutes=30))
    feed.refresh_from_db()
    assert (feed.last_error, feed.last_error_at) == ("", None)


def test_an_article_already_stored_from_another_source_is_not_stored_again(
    respx_mock: respx.MockRouter,
) -> None:
    NewsItemFactory(url="https://money.example.com.tw/story/101", origin=NewsItem.Origin.SERPER, feed=None)
    feed = NewsFeedFactory(url="https://money.example.com.tw/rss")
    respx_mock.get(str(feed.url)).respond(text=RSS_FEED)
    assert news_fetch_feeds(now=NOW).created == 1
    assert NewsItem.objects.get(url="https://money.example.com.tw/story/101").origin == "serper"


def test_a_feed_timing_out_does_not_stop_the_others(respx_mock: respx.MockRouter) -> None:
    slow = NewsFeedFactory(url="https://slow.example.com/rss")
    fine = NewsFeedFactory(url="https://money.example.com.tw/rss")
    respx_mock.get(str(slow.url)).mock(side_effect=httpx.ConnectTimeout("timed out"))
    respx_mock.get(str(fine.url)).respond(text=RSS_FEED)
    result = news_fetch_feeds(now=NOW)
    assert (result.failed, result.created) == (1, 2)
    assert "did not answer within" in NewsFeed.objects.get(pk=slow.pk).last_error
