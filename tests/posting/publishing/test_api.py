"""The publishing API: POST /api/posts/{id}/publish and /unpublish, GET /api/publications/?status=."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from posting.models import PublicationStatus as S
from tests.posting.fake_platform import Answer, FakePlatform
from tests.posting.publishing_support import approved_post, send_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform_configured")]


def test_publish_queues_the_post_and_answers_202(api_as: Any, administrator: User) -> None:
    post = approved_post()
    response = api_as(administrator).post(f"/api/posts/{post.pk}/publish/")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["due_at"] and body["post"] == str(post.pk)


def test_publish_needs_the_publish_permission(api_as: Any, reviewer: User) -> None:
    post = approved_post()
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/publish/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_publishing_a_draft_is_a_409(api_as: Any, administrator: User) -> None:
    from tests.factories import PostFactory

    post = PostFactory()
    response = api_as(administrator).post(f"/api/posts/{post.pk}/publish/")
    assert response.status_code == 409
    assert "approved or scheduled" in response.json()["error"]["message"]


def test_unpublish_deletes_on_the_platform(api_as: Any, administrator: User, platform: FakePlatform) -> None:
    publication = send_now(approved_post())
    response = api_as(administrator).post(f"/api/posts/{publication.post_id}/unpublish/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "deleted"
    assert platform.deleted == [publication.platform_post_id]
    assert api_as(administrator).get(f"/api/posts/{publication.post_id}/").json()["status"] == "unpublished"


def test_unpublish_that_the_platform_refuses_is_a_502_saying_it_is_still_online(
    api_as: Any, administrator: User, settings: Any
) -> None:
    publication = send_now(approved_post())
    from kols.models import PlatformAccount

    PlatformAccount.objects.filter(pk=publication.account_id).update(access_token="", token_expires_at=None)
    settings.CMONEY_IDENTITY_BASE_URL = "http://127.0.0.1:9"
    response = api_as(administrator).post(f"/api/posts/{publication.post_id}/unpublish/")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "unpublish_failed"
    assert "still online" in response.json()["error"]["message"]


def test_publications_filter_by_status_with_their_attempts(
    api_as: Any, reviewer: User, platform: FakePlatform, django_assert_max_num_queries: Any
) -> None:
    platform.answer_next_creates(Answer(status=500))
    unknown = send_now(approved_post())
    send_now(approved_post(dry_run=True))
    client = api_as(reviewer)
    with django_assert_max_num_queries(8):
        response = client.get("/api/publications/", {"status": "unknown"})
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["id"] == unknown.pk and row["status"] == S.UNKNOWN
    assert [attempt["kind"] for attempt in row["attempts"]] == ["login", "create"]
    dry = client.get("/api/publications/", {"status": "published"}).json()["results"]
    assert [row["dry_run"] for row in dry] == [True]


def test_publications_need_the_view_permission(api_as: Any) -> None:
    outsider = User.objects.create_user("outsider", password="x")
    assert api_as(outsider).get("/api/publications/").status_code == 403
