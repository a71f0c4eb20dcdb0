"""Recorded JSON (a feed entry, a platform request, reaction counts) is shown to editors as a table."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import translation

from config.admin_data import data_table
from tests.factories import InteractionSnapshotFactory, NewsItemFactory, PublicationFactory


def test_a_mapping_is_a_table_of_readable_values() -> None:
    data = {
        "title": "台積電 <法說會>",
        "views": 1234567,
        "draft": True,
        "tags": ["AI", "半導體"],
        "author": {"name": "阿明"},
        "sent_at": "2026-11-23T06:30:15.123456+00:00",
        "note": None,
    }
    with translation.override("zh-hant"):
        html = str(data_table(data))
    assert html.startswith('<table class="kol-table">') and "<th>title</th>" in html
    assert "台積電 &lt;法說會&gt;" in html  # escaped, never markup from the data
    assert "1,234,567" in html and "是" in html and "AI、半導體" in html
    assert "<th>name</th><td>阿明</td>" in html  # a nested object is a nested table
    assert "2026-11-23 14:30" in html and "123456" not in html  # Asia/Taipei, no microseconds
    assert "{" not in html and "None" not in html


def test_long_data_is_cut_to_a_page_of_rows() -> None:
    html = str(data_table({f"key{n}": n for n in range(60)}))
    assert html.count("<tr>") == 51 and "10" in html


def _visible(html: str) -> str:
    """The page without tags and their attributes (an inline formset keeps its options in one)."""
    return re.sub(r"<[^>]*>", " ", html).replace("&quot;", '"')


@pytest.mark.django_db
def test_the_news_publication_and_snapshot_pages_show_no_raw_json(administrator: User) -> None:
    news = NewsItemFactory(raw={"summary": "營收創新高", "guid": "abc-1"})
    publication = PublicationFactory(request_payload={"title": "今日觀察", "tags": ["2330"]})
    snapshot = InteractionSnapshotFactory(reactions={"like": 12, "love": 3})
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hant")
    client.force_login(administrator)
    pages = {
        reverse("admin:market_newsitem_change", args=[news.pk]): "<th>summary</th><td>營收創新高</td>",
        reverse("admin:posting_publication_change", args=[publication.pk]): "<th>title</th><td>今日觀察</td>",
        reverse("admin:analytics_interactionsnapshot_change", args=[snapshot.pk]): "<th>like</th><td>12</td>",
    }
    for url, row in pages.items():
        html = client.get(url).content.decode()
        assert row in html, url
        assert "{&#x27;" not in html and '{"' not in _visible(html), url
