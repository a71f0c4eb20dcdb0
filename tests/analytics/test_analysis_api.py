"""/api/analytics/... and /api/kols/{id}/playbook/: permission-checked, filterable, 4xx on bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User

from kols.models import Playbook
from kols.playbooks import playbook_propose
from tests.analytics.analysis_support import a_kol, scored

pytestmark = pytest.mark.django_db

PERIOD = "start=2026-03-01&end=2026-03-07"


@pytest.mark.parametrize(
    "path",
    ["top-features", "best-times", "leaderboard", "persona-leaderboard", "editor-effort", "learning-lift"],
)
def test_every_analysis_answers_a_reader_with_a_constant_number_of_queries(
    api_as: Any, writer: User, path: str, django_assert_max_num_queries: Any
) -> None:
    for score in range(1, 11):
        scored(score)
    client = api_as(writer)

    with django_assert_max_num_queries(40):
        response = client.get(f"/api/analytics/{path}/?{PERIOD}")

    assert response.status_code == 200, response.json()
    assert response.json()["scope"]["start"] == "2026-03-01"


def test_top_features_filters_by_kol(api_as: Any, writer: User) -> None:
    kol = a_kol()
    scored(1, kol=kol)
    scored(2)

    body = api_as(writer).get(f"/api/analytics/top-features/?{PERIOD}&kol={kol.pk}").json()

    assert body["posts"] == 1 and body["stored"] is False


def test_bad_filters_are_a_400_naming_the_field(api_as: Any, writer: User) -> None:
    client = api_as(writer)

    backwards = client.get("/api/analytics/best-times/?start=2026-03-07&end=2026-03-01")
    unknown = client.get("/api/analytics/best-times/?kol=999999")
    persona = client.get("/api/analytics/best-times/?persona=astrology")

    assert backwards.status_code == 400 and "start" in str(backwards.json())
    assert unknown.status_code == 400 and "kol" in str(unknown.json())
    assert persona.status_code == 400 and "persona" in str(persona.json())


def test_analytics_need_a_login_and_the_permission(api: Any, api_as: Any) -> None:
    nobody = User.objects.create_user("nobody")
    assert api.get("/api/analytics/leaderboard/").status_code == 401
    assert api_as(nobody).get("/api/analytics/leaderboard/").status_code == 403


def test_a_kol_playbook_is_read_by_everyone_and_activated_by_an_administrator(
    api_as: Any, writer: User, administrator: User
) -> None:
    kol = a_kol()
    playbook_propose(kol=kol, lines=["以問句結尾的貼文…"], best_hours=[20])

    read = api_as(writer).get(f"/api/kols/{kol.pk}/playbook/")
    refused = api_as(writer).post(f"/api/kols/{kol.pk}/playbook/activate/", {"version": 1}, format="json")
    missing = api_as(administrator).post(
        f"/api/kols/{kol.pk}/playbook/activate/", {"version": 7}, format="json"
    )
    done = api_as(administrator).post(f"/api/kols/{kol.pk}/playbook/activate/", {"version": 1}, format="json")

    assert read.status_code == 200 and read.json()["active"] is None
    assert read.json()["versions"][0]["lines"] == ["以問句結尾的貼文…"]
    assert refused.status_code == 403
    assert missing.status_code == 400 and "version" in str(missing.json())
    assert done.status_code == 200 and done.json()["active"]["version"] == 1
    assert Playbook.objects.get(kol=kol).status == Playbook.Status.ACTIVE
    assert Playbook.objects.get(kol=kol).activated_by == administrator


def test_dates_in_the_response_are_iso(api_as: Any, writer: User) -> None:
    scored(3)
    body = api_as(writer).get(f"/api/analytics/leaderboard/?{PERIOD}").json()
    assert dt.date.fromisoformat(body["weeks"][0]["week"]) == dt.date(2026, 3, 2)


def test_each_analysis_documents_its_own_response_schema(api_as: Any, writer: User) -> None:
    schema = api_as(writer).get("/api/schema/?format=json").json()
    refs = {
        path: schema["paths"][f"/api/analytics/{path}/"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]["$ref"].rsplit("/", 1)[-1]
        for path in ("top-features", "best-times", "leaderboard", "editor-effort", "learning-lift")
    }
    assert refs == {
        "top-features": "TopFeatures",
        "best-times": "BestTimes",
        "leaderboard": "Leaderboard",
        "editor-effort": "EditorEffort",
        "learning-lift": "LearningLift",
    }
