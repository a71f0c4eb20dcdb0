from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import respx
from django.test import Client
from django.urls import reverse

from market.models import NewsFeed, NewsItem, TradingDayOverride
from tests.factories import NewsFeedFactory, NewsItemFactory, StockFactory, TradingDayOverrideFactory
from tests.market.payloads import FEED_URL, RSS_FEED

pytestmark = pytest.mark.django_db


def _news(count: int) -> None:
    for _ in range(count):
        item = NewsItemFactory()
        item.stocks.add(StockFactory(), StockFactory())


@pytest.mark.parametrize(
    ("model", "factory"),
    [
        (TradingDayOverride, TradingDayOverrideFactory),
        (NewsFeed, NewsFeedFactory),
        (NewsItem, NewsItemFactory),
    ],
)
def test_the_market_admin_pages_render(admin_client: Client, model: Any, factory: Any) -> None:
    obj = factory()
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    assert admin_client.get(reverse(f"{prefix}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code == 200
    assert admin_client.get(reverse(f"{prefix}_add")).status_code == 200


def test_an_override_is_added_from_the_admin_and_needs_a_reason(admin_client: Client) -> None:
    url = reverse("admin:market_tradingdayoverride_add")
    refused = admin_client.post(url, {"date": "2026-09-14", "is_open": "", "reason": ""})
    assert refused.status_code == 200 and not TradingDayOverride.objects.exists()
    admin_client.post(url, {"date": "2026-09-14", "is_open": "", "reason": "颱風停止交易"})
    override = TradingDayOverride.objects.get()
    assert (override.date, override.is_open) == (dt.date(2026, 9, 14), False)


def test_the_news_list_does_a_constant_number_of_queries(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    url = reverse("admin:market_newsitem_changelist")
    _news(2)
    with django_assert_max_num_queries(20) as captured:
        assert admin_client.get(url).status_code == 200
    _news(10)
    with django_assert_max_num_queries(len(captured.captured_queries)):
        admin_client.get(url)


def test_fetch_now_fetches_the_selected_feeds_and_says_what_happened(
    admin_client: Client, respx_mock: respx.MockRouter
) -> None:
    feed = NewsFeedFactory(url=FEED_URL)
    respx_mock.get(FEED_URL).respond(text=RSS_FEED)
    response = admin_client.post(
        reverse("admin:market_newsfeed_changelist"),
        {"action": "fetch_now", "_selected_action": [feed.pk]},
        follow=True,
    )
    assert "1 feed(s) fetched, 0 failed, 2 new item(s)." in response.content.decode()
    assert NewsItem.objects.filter(feed=feed).count() == 2


def test_writers_and_reviewers_may_read_the_market_tables_and_administrators_edit_them(
    writer: Any, reviewer: Any, administrator: Any
) -> None:
    for model in ("tradingdayoverride", "newsfeed", "newsitem"):
        assert writer.has_perm(f"market.view_{model}") and reviewer.has_perm(f"market.view_{model}")
        assert not writer.has_perm(f"market.change_{model}")
        assert administrator.has_perm(f"market.change_{model}")
