from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from analytics.dashboard import interactions_by_day_chart
from posting.models import Post
from tests.factories import InteractionSnapshotFactory, PostFactory

pytestmark = pytest.mark.django_db
TAIPEI = ZoneInfo("Asia/Taipei")


def _home(client: Client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode(), len(queries.captured_queries)


def test_the_home_is_a_dashboard_with_the_reviewers_to_do_and_two_charts(
    demo_world: dict[str, int], reviewer: User
) -> None:
    client = Client()
    client.force_login(reviewer)
    page, _queries = _home(client)
    assert 'id="todo"' in page and "Waiting for your review" in page
    assert page.count('<canvas class="chart"') == 2
    unknown = Post.objects.filter(is_demo=True, status=Post.Status.PUBLISHING).order_by("-id").first()
    assert unknown is not None
    assert unknown.title in page.split('id="todo-decisions"')[1]


def test_the_home_makes_at_most_15_queries_whatever_the_number_of_posts(
    demo_world: dict[str, int], reviewer: User
) -> None:
    client = Client()
    client.force_login(reviewer)
    _page, before = _home(client)
    for post in PostFactory.create_batch(30, status=Post.Status.PENDING_REVIEW):
        InteractionSnapshotFactory(post=post)
    _page, after = _home(client)
    assert before == after <= 15


def test_an_empty_home_points_to_the_demo_and_to_real_market_data(reviewer: User) -> None:
    client = Client()
    client.force_login(reviewer)
    page, _queries = _home(client)
    assert "make demo" in page and "fetch_quotes" in page and "import_quotes" in page


def test_interactions_by_day_count_each_posts_growth_and_keep_demo_apart() -> None:
    now = dt.datetime(2026, 3, 11, 20, 0, tzinfo=TAIPEI)
    real, demo = PostFactory(), PostFactory(is_demo=True)
    for day, likes in ((9, 5), (10, 12), (11, 12)):
        InteractionSnapshotFactory(
            post=real, captured_at=now.replace(day=day), likes=likes, comments=0, saves=0
        )
    InteractionSnapshotFactory(post=demo, captured_at=now, likes=4, comments=0, saves=0, is_demo=True)
    with time_machine.travel(now, tick=False):
        chart = interactions_by_day_chart(days=3)
    assert chart["labels"] == ["3/9", "3/10", "3/11"]
    real_data, demo_data = (dataset["data"] for dataset in chart["datasets"])
    assert real_data == [5, 7, 0]
    assert demo_data == [0, 0, 4]
