from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import respx
import time_machine
from celery.exceptions import Retry
from celery.signals import task_retry

from config.celery import app
from market.clients.http import SourceRequestFailed
from market.models import DailyQuote, NewsFeed, NewsItem
from market.quotes import QuotesNotPublishedYet
from market.tasks import QUOTES_MAX_RETRIES, fetch_daily_quotes, fetch_news_feeds
from scheduling.beat import BEAT_ENTRIES
from tests.factories import NewsFeedFactory
from tests.market.payloads import FEED_URL, RSS_FEED, TPEX_DAY, TPEX_URL, TWSE_DAY, TWSE_URL, dated

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
AFTER_CLOSE = dt.datetime(2025, 11, 26, 14, 40, tzinfo=TAIPEI)


def test_the_quote_task_stores_the_day_and_reports_counts(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    with time_machine.travel(AFTER_CLOSE, tick=False):
        result = fetch_daily_quotes.apply().get()
    assert result["trade_date"] == "2025-11-26"
    assert result["stored"]["TWSE"]["quotes"] == 5 and result["stored"]["TPEx"]["new_stocks"] == 4
    assert DailyQuote.objects.count() == 9


def test_not_published_yet_retries_every_ten_minutes_for_the_same_moment_then_gives_up(
    respx_mock: respx.MockRouter,
) -> None:
    twse_route = respx_mock.get(TWSE_URL).respond(json=dated(TWSE_DAY, "1141125"))
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    retries: list[tuple[object, dict[str, object]]] = []

    def record(request: object, reason: Retry, **kwargs: object) -> None:
        retries.append((reason.when, reason.sig.kwargs))

    task_retry.connect(record)
    try:
        with time_machine.travel(AFTER_CLOSE, tick=False):
            # Eager apply() runs each retry inline, so the whole retry budget plays out here.
            outcome = fetch_daily_quotes.apply()
    finally:
        task_retry.disconnect(record)
    assert isinstance(outcome.result, QuotesNotPublishedYet)
    assert twse_route.call_count == QUOTES_MAX_RETRIES + 1 == 25
    assert {when for when, _kwargs in retries} == {600}
    assert {dt.datetime.fromisoformat(str(kwargs["as_of"])) for _when, kwargs in retries} == {AFTER_CLOSE}
    assert not DailyQuote.objects.filter(stock__market="TWSE").exists()


def test_a_retry_after_the_exchange_publishes_stores_the_pinned_day(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).mock(
        side_effect=[
            respx.MockResponse(json=dated(TWSE_DAY, "1141125")),
            respx.MockResponse(json=TWSE_DAY),
        ]
    )
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    # Eager apply() re-runs a retry inline: the second run sees the published day.
    with time_machine.travel(AFTER_CLOSE, tick=False):
        result = fetch_daily_quotes.apply().get()
    assert result["trade_date"] == "2025-11-26"
    assert DailyQuote.objects.filter(trade_date="2025-11-26").count() == 9


def test_the_pinned_moment_is_used_even_after_midnight(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(TWSE_URL).respond(json=TWSE_DAY)
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    with time_machine.travel(dt.datetime(2025, 11, 29, 0, 30, tzinfo=TAIPEI), tick=False):  # Saturday
        result = fetch_daily_quotes.apply(kwargs={"as_of": AFTER_CLOSE.isoformat()}).get()
    assert result["trade_date"] == "2025-11-26"


def test_other_errors_are_raised_without_retry(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(TWSE_URL).respond(500)
    respx_mock.get(TPEX_URL).respond(json=TPEX_DAY)
    with time_machine.travel(AFTER_CLOSE, tick=False):
        outcome = fetch_daily_quotes.apply()
    assert isinstance(outcome.result, SourceRequestFailed)
    assert route.call_count == 1


def test_the_news_feed_task_fetches_active_feeds(respx_mock: respx.MockRouter) -> None:
    NewsFeedFactory(url=FEED_URL)
    respx_mock.get(FEED_URL).respond(text=RSS_FEED)
    assert fetch_news_feeds.apply().get() == {"feeds": 1, "failed": 0, "created": 2}
    assert NewsItem.objects.count() == 2
    assert NewsFeed.objects.get().last_fetched_at is not None


def test_beat_runs_the_quotes_after_the_close_and_the_feeds_every_half_hour() -> None:
    entries = {entry.task: entry for entry in BEAT_ENTRIES}
    quotes = entries["market.fetch_daily_quotes"]
    assert (quotes.minute, quotes.hour, quotes.day_of_week) == ("40", "14", "*")
    assert entries["market.fetch_news_feeds"].minute == "*/30"
    assert {"market.fetch_daily_quotes", "market.fetch_news_feeds"} <= set(app.tasks)
