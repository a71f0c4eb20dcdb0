from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from kols.tokens import api_token_create
from posting.models import Post
from tests.factories import KOLFactory, PostFactory, StockFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/kols/", "/api/stocks/", "/api/posts/", "/api/schema/?format=json"]


def _assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_anonymous_calls_are_refused(url: str, api: APIClient) -> None:
    response = api.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    _assert_error_shape(response.json(), "not_authenticated")


def test_anonymous_visitors_of_the_api_docs_are_sent_to_log_in(api: APIClient) -> None:
    response = api.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/api/docs/"


def test_anonymous_detail_of_a_post_is_refused(api: APIClient) -> None:
    post = PostFactory()
    response = api.get(f"/api/posts/{post.pk}/")
    assert response.status_code == 401
    assert post.title not in response.content.decode()


def test_a_token_from_the_admin_authenticates(api: APIClient, reviewer: User) -> None:
    _token, key = api_token_create(user=reviewer, name="test")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/posts/").status_code == 200


def test_a_user_without_the_view_permission_gets_403(api_as: Any) -> None:
    nobody = User.objects.create_user("nobody", password="x")
    response = api_as(nobody).get("/api/posts/")
    assert response.status_code == 403
    _assert_error_shape(response.json(), "permission_denied")


@pytest.mark.parametrize("role", ["writer", "reviewer", "administrator"])
def test_every_role_reads_posts_kols_and_stocks(
    role: str, api_as: Any, request: pytest.FixtureRequest
) -> None:
    client = api_as(request.getfixturevalue(role))
    for url in ("/api/posts/", "/api/kols/", "/api/stocks/"):
        assert client.get(url).status_code == 200, url


def test_read_endpoints_refuse_writes(api_as: Any, administrator: User) -> None:
    response = api_as(administrator).post("/api/stocks/", {"code": "x"}, format="json")
    assert response.status_code == 405
    _assert_error_shape(response.json(), "method_not_allowed")


def test_writing_a_post_without_its_fields_names_them(api_as: Any, administrator: User) -> None:
    response = api_as(administrator).post("/api/posts/", {"title": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"kol", "body"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=nonsense", "status"),
        ("created_after=yesterday", "created"),
        ("kol=abc", "kol"),
        ("kol=999999", "kol"),
        ("risk_level=extreme", "risk_level"),
    ],
)
def test_a_bad_filter_value_gives_400_naming_the_field(
    query: str, field: str, api_as: Any, reviewer: User
) -> None:
    response = api_as(reviewer).get(f"/api/posts/?{query}")
    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body, "invalid")
    assert field in body["error"]["fields"]
    assert field in body["error"]["message"]


# 17:30 UTC is already the next day in Taipei: the date filter must read dates in Asia/Taipei, whatever
# the hour the suite runs.
@pytest.mark.parametrize("utc_now", ["2026-03-02T03:30:00Z", "2026-03-02T17:30:00Z"])
def test_posts_filter_by_status_kol_stock_and_date(
    api_as: Any, reviewer: User, utc_now: str, time_machine: Any
) -> None:
    time_machine.move_to(utc_now, tick=False)
    kol = KOLFactory()
    stock = StockFactory(code="2330", name="台積電")
    wanted = PostFactory(kol=kol, stock=stock, status=Post.Status.PENDING_REVIEW)
    PostFactory(kol=kol, stock=stock, status=Post.Status.DRAFT)
    PostFactory(status=Post.Status.PENDING_REVIEW)
    today = timezone.localtime(wanted.created_at).date().isoformat()
    response = api_as(reviewer).get(
        f"/api/posts/?status=pending_review&kol={kol.pk}&stock=2330&created_after={today}&created_before={today}"
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(wanted.pk)]
    assert response.json()["results"][0]["stock_code"] == "2330"


def test_unknown_api_paths_answer_in_the_error_shape(api_as: Any, reviewer: User) -> None:
    response = api_as(reviewer).get("/api/no-such-thing/")
    assert response.status_code == 404
    _assert_error_shape(response.json(), "not_found")


def test_a_missing_post_is_404_in_the_error_shape(api_as: Any, reviewer: User) -> None:
    response = api_as(reviewer).get("/api/posts/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    _assert_error_shape(response.json(), "not_found")


def test_lists_are_paginated(api_as: Any, reviewer: User) -> None:
    PostFactory.create_batch(3)
    body = api_as(reviewer).get("/api/posts/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


@pytest.mark.parametrize("url", ["/api/posts/", "/api/kols/", "/api/stocks/"])
def test_list_query_count_does_not_grow_with_rows(
    url: str, api_as: Any, administrator: User, django_assert_max_num_queries: Any
) -> None:
    client = api_as(administrator)
    PostFactory.create_batch(3)
    with django_assert_max_num_queries(8) as few:
        client.get(url)
    PostFactory.create_batch(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_openapi_schema_describes_the_endpoints(api_as: Any, reviewer: User) -> None:
    response = api_as(reviewer).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/kols/", "/api/stocks/", "/api/posts/"} <= set(paths)
    browser = APIClient()
    browser.force_login(reviewer)
    assert browser.get("/api/docs/").status_code == 200
