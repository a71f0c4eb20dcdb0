"""The analytics dashboards in the admin: each renders its charts and tables, filters, exports CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from analytics.analysis.services import analyses_refresh
from kols.playbooks import playbook_propose
from posting.models import AuditEvent
from tests.analytics.analysis_support import PUBLISHED, a_kol, scored

pytestmark = pytest.mark.django_db

SECTIONS = ["overview", "leaderboard", "best-times", "features", "learning", "effort"]
NOW = dt.datetime(2026, 3, 5, 0, 0, tzinfo=dt.UTC)


def _login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _small_minimum(settings: Any) -> None:
    settings.ANALYTICS_MIN_POSTS = 10


def _data() -> None:
    kol = a_kol(nickname="阿明")
    for score in range(1, 41):
        row = scored(
            score, kol=kol, ends_with_question=score > 24, playbook_group="guided" if score % 2 else "control"
        )
    event = AuditEvent.objects.create(post_id=row.post_id, action="reject", note="數字錯誤")
    AuditEvent.objects.filter(pk=event.pk).update(created_at=PUBLISHED)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("section", SECTIONS)
def test_each_dashboard_renders_its_charts_from_stored_results_in_few_queries(
    client: Client, writer: User, section: str, django_assert_max_num_queries: Any
) -> None:
    _data()
    analyses_refresh()
    _login(client, writer)

    with django_assert_max_num_queries(25):
        response = client.get(reverse("admin:analytics_dashboard_section", args=[section]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="chart"' in html and "data-value=" in html
    assert "unfold/js/chart/chart.js" in html  # served by the app, no CDN
    assert "Stored by the daily job" in html
    assert "Download CSV" in html


@time_machine.travel(NOW, tick=False)
def test_the_best_times_page_shows_the_heat_map(client: Client, writer: User) -> None:
    _data()
    html = (
        _login(client, writer)
        .get(reverse("admin:analytics_dashboard_section", args=["best-times"]))
        .content.decode()
    )
    assert 'id="heatmap"' in html and "rgba(147, 51, 234," in html


@time_machine.travel(NOW, tick=False)
def test_filters_compute_for_the_period_and_kol_asked(client: Client, writer: User) -> None:
    _data()
    other = a_kol(nickname="小美")
    scored(5, kol=other)
    url = reverse("admin:analytics_dashboard_section", args=["leaderboard"])

    html = (
        _login(client, writer)
        .get(url, {"start": "2026-03-01", "end": "2026-03-07", "kol": str(other.pk)})
        .content.decode()
    )

    assert "Computed now for these filters." in html
    table = html[html.index('id="table-kols"') :]
    assert "小美" in table and "阿明" not in table


@time_machine.travel(NOW, tick=False)
def test_a_backwards_period_is_a_form_error_not_a_crash(client: Client, writer: User) -> None:
    url = reverse("admin:analytics_dashboard_section", args=["overview"])
    response = _login(client, writer).get(url, {"start": "2026-03-07", "end": "2026-03-01"})
    assert response.status_code == 200
    assert "The start must not be after the end." in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_every_table_downloads_as_csv(client: Client, writer: User) -> None:
    _data()
    url = reverse("admin:analytics_dashboard_section", args=["features"])

    response = _login(client, writer).get(url, {"export": "values"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Feature", "Value", "Posts"]
    assert ["Ends with a question", "Yes", "16"] in [row[:3] for row in rows]
    assert _login(client, writer).get(url, {"export": "nope"}).status_code == 404


def test_dashboards_need_the_permission(client: Client) -> None:
    nobody = User.objects.create_user("nobody", is_staff=True)
    response = _login(client, nobody).get(reverse("admin:analytics_dashboard"))
    assert response.status_code == 403


def test_the_playbook_admin_shows_lines_and_lets_an_administrator_activate(
    client: Client, administrator: User
) -> None:
    kol = a_kol()
    playbook = playbook_propose(kol=kol, lines=["以問句結尾的貼文……"], best_hours=[20])
    assert playbook is not None
    _login(client, administrator)

    page = client.get(reverse("admin:kols_playbook_change", args=[playbook.pk])).content.decode()
    client.post(
        reverse("admin:kols_playbook_changelist"),
        {"action": "activate", "_selected_action": [playbook.pk]},
    )

    playbook.refresh_from_db()
    assert "以問句結尾的貼文……" in page and "20:00" in page
    assert playbook.status == "active"


@pytest.mark.default_language
def test_the_home_page_links_the_dashboards_in_traditional_chinese(client: Client, writer: User) -> None:
    html = _login(client, writer).get(reverse("admin:index")).content.decode()
    assert "成效分析儀表板" in html
    assert "前 20%、最佳時段" in html
