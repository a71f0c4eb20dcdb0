from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from config.navigation import sidebar_navigation
from kols.tokens import api_token_create

pytestmark = pytest.mark.django_db

# Real configuration the demo must not invent: a fake typhoon day would change the trading calendar,
# and a feed is a real address the worker would fetch. Beat's interval, clocked and solar tables are
# unused by KOL Studio (its beat entries are crontabs).
NOT_DEMO_DATA = {
    "/admin/market/tradingdayoverride/",
    "/admin/market/newsfeed/",
    "/admin/django_celery_beat/intervalschedule/",
    "/admin/django_celery_beat/clockedschedule/",
    "/admin/django_celery_beat/solarschedule/",
}
EMPTY_LIST = ("No results found", 'id="getting-started"')


def test_after_make_demo_every_sidebar_page_shows_something(demo_world: dict[str, int]) -> None:
    call_command("setup_periodic_tasks", verbosity=0)
    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    api_token_create(user=user, name="每日報表")
    client = Client()
    client.force_login(user)
    links = [str(item["link"]) for group in sidebar_navigation() for item in group["items"]]
    assert len(links) >= 25
    empty = []
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        if link.split("?")[0] not in NOT_DEMO_DATA and any(
            mark in response.content.decode() for mark in EMPTY_LIST
        ):
            empty.append(link)
    assert empty == []
