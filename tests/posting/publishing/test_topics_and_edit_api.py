"""Trending topics and the approval of a published post's edit, through the API and the post page.

Against the fake CMoney (tests/posting/fake_platform.py: real HTTP on 127.0.0.1); a failing fetch is a real
refused connection, never a patched function.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from kols.models import KOL
from posting.models import AuditEvent, Post, Publication
from posting.models import PublicationStatus as S
from posting.review.services import post_approve, post_create_draft, post_run_checks, post_update_text
from tests.factories import KOLFactory, PlatformAccountFactory
from tests.posting.fake_platform import FakePlatform
from tests.posting.publishing_support import EDITOR, approved_post, send_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform_configured")]

TRENDING = [{"id": "8f2c", "title": "升息循環"}, {"id": "91aa", "title": "AI 伺服器"}]


def _published_and_edited() -> Post:
    publication = send_now(approved_post())
    assert publication.status == S.PUBLISHED
    post = Post.objects.get(pk=publication.post_id)
    result = post_update_text(
        post=post, by=EDITOR, title="台積電觀察（更新）", body="更新：今天收盤105元，投資有風險。",
        expected_version=post.version,
    )  # fmt: skip
    return result.post


def _kol(*, account: bool = True) -> KOL:
    kol = cast(KOL, KOLFactory(dry_run=False, max_posts_per_hour=20, max_posts_per_day=20))
    if account:
        PlatformAccountFactory(kol=kol)
    return kol


def _topic_draft(*, account: bool = True) -> Post:
    return post_create_draft(
        kol=_kol(account=account), stock=None, title="升息怎麼看", body="央行升息一碼，投資有風險。"
    )


# --- POST /api/posts/{id}/approve-edit/ ---------------------------------------------------------------


def test_a_reviewer_approves_a_published_posts_edit_through_the_api(api_as: Any, reviewer: User) -> None:
    post = _published_and_edited()
    response = api_as(reviewer).post(
        f"/api/posts/{post.pk}/approve-edit/", {"version": post.version, "note": "ok"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "published" and body["version"] == post.version
    update = Publication.objects.get(post=post, kind=Publication.Kind.UPDATE)
    assert update.status == S.PENDING and update.post_version == post.version
    assert AuditEvent.objects.filter(post=post, action="approve_edit", actor=reviewer).exists()


def test_a_writer_cannot_approve_an_edit(api_as: Any, writer: User) -> None:
    post = _published_and_edited()
    response = api_as(writer).post(f"/api/posts/{post.pk}/approve-edit/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Publication.objects.filter(post=post, kind=Publication.Kind.UPDATE).exists()


def test_approving_an_edit_of_a_post_that_is_not_published_is_a_409(api_as: Any, reviewer: User) -> None:
    post = approved_post()
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/approve-edit/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transition_not_allowed"


def test_approving_a_stale_version_of_the_edit_is_a_409(api_as: Any, reviewer: User) -> None:
    post = _published_and_edited()
    stale = post.version
    post_update_text(
        post=post, by=EDITOR, title="再改一次", body="再改一次：投資有風險。", expected_version=stale
    )
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/approve-edit/", {"version": stale}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "edit_conflict"
    assert not Publication.objects.filter(post=post, kind=Publication.Kind.UPDATE).exists()


def test_a_bad_version_is_a_400_naming_the_field(api_as: Any, reviewer: User) -> None:
    post = _published_and_edited()
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/approve-edit/", {"version": "x"}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()["error"]["fields"]


# --- GET /api/topics/trending/?kol= -------------------------------------------------------------------


def test_the_trending_topics_are_read_with_the_kols_account(
    api_as: Any, writer: User, platform: FakePlatform
) -> None:
    platform.trending = TRENDING
    kol = _kol()
    response = api_as(writer).get("/api/topics/trending/", {"kol": kol.pk})
    assert response.status_code == 200, response.json()
    assert response.json() == TRENDING
    assert platform.logins


@pytest.mark.parametrize("query", [{}, {"kol": "999999"}, {"kol": "x"}])
def test_trending_needs_a_known_kol(api_as: Any, writer: User, query: dict[str, str]) -> None:
    response = api_as(writer).get("/api/topics/trending/", query)
    assert response.status_code == 400
    assert "kol" in response.json()["error"]["fields"]


def test_a_kol_without_a_cmoney_account_gets_a_409_and_no_topics(api_as: Any, writer: User) -> None:
    response = api_as(writer).get("/api/topics/trending/", {"kol": _kol(account=False).pk})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_cmoney_account"


def test_an_unreachable_platform_is_a_502_and_invents_nothing(
    api_as: Any, writer: User, settings: Any, platform: FakePlatform
) -> None:
    platform.trending = TRENDING
    settings.CMONEY_FORUM_BASE_URL = "http://127.0.0.1:9"  # nothing listens: the connection is refused
    response = api_as(writer).get("/api/topics/trending/", {"kol": _kol().pk})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "topics_unavailable"
    assert "升息循環" not in response.content.decode()


def test_reading_topics_needs_the_change_post_permission(api_as: Any, db: None) -> None:
    nobody = User.objects.create_user("nobody")
    response = api_as(nobody).get("/api/topics/trending/", {"kol": _kol().pk})
    assert response.status_code == 403


# --- POST /api/posts/{id}/topic/ ----------------------------------------------------------------------


def test_a_topic_is_attached_and_removed_through_the_api(api_as: Any, writer: User) -> None:
    draft = _topic_draft()
    client = api_as(writer)
    response = client.post(
        f"/api/posts/{draft.pk}/topic/", {"topic_id": "8f2c", "topic_title": "升息循環"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["topic_id"], response.json()["topic_title"]) == ("8f2c", "升息循環")
    response = client.post(f"/api/posts/{draft.pk}/topic/", {"topic_id": ""}, format="json")
    assert response.status_code == 200 and response.json()["topic_id"] == ""


def test_a_published_post_cannot_change_its_topic_through_the_api(api_as: Any, reviewer: User) -> None:
    post = _published_and_edited()
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/topic/", {"topic_id": "8f2c"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transition_not_allowed"


def test_attaching_a_topic_needs_a_topic_id_field(api_as: Any, writer: User) -> None:
    draft = _topic_draft()
    response = api_as(writer).post(f"/api/posts/{draft.pk}/topic/", {}, format="json")
    assert response.status_code == 400
    assert "topic_id" in response.json()["error"]["fields"]


# --- The post page's topic control --------------------------------------------------------------------


def _page(client: Any, post: Post, query: str = "") -> str:
    return client.get(reverse("admin:posting_post_change", args=[post.pk]) + query).content.decode()


def test_the_post_page_lists_the_trending_topics_on_request_and_attaches_one(
    admin_client: Any, platform: FakePlatform
) -> None:
    platform.trending = TRENDING
    draft = _topic_draft()
    page = _page(admin_client, draft)
    assert 'id="topic"' in page and 'id="topic-load"' in page and "升息循環" not in page
    assert not platform.logins  # the page does not wait on CMoney until the editor asks
    page = _page(admin_client, draft, "?topics=1")
    assert 'id="topic-list"' in page and "升息循環" in page and "AI 伺服器" in page
    url = reverse("admin:posting_post_topic", args=[draft.pk])
    response = admin_client.post(url, {"topic_id": "8f2c", "topic_title": "升息循環"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.topic_id, draft.topic_title) == ("8f2c", "升息循環")
    assert 'id="topic-detach"' in _page(admin_client, draft)


def test_the_post_page_says_plainly_when_the_topics_cannot_be_read(admin_client: Any) -> None:
    page = _page(admin_client, _topic_draft(account=False), "?topics=1")
    assert 'id="topic-error"' in page and 'id="topic-list"' not in page


def test_a_published_post_offers_no_topic_change(admin_client: Any) -> None:
    draft = _topic_draft()
    publication = send_now(post_approve(post=post_run_checks(post=draft), by=EDITOR))
    assert publication.status == S.PUBLISHED
    page = _page(admin_client, draft, "?topics=1")
    assert 'id="topic"' in page and 'id="topic-load"' not in page and 'id="topic-list"' not in page


def test_a_post_with_a_stock_shows_no_topic_control(admin_client: Any) -> None:
    assert 'id="topic"' not in _page(admin_client, approved_post())


def test_the_topic_url_refuses_get_and_people_without_the_change_permission(
    client: Any, admin_client: Any, db: None
) -> None:
    draft = _topic_draft()
    url = reverse("admin:posting_post_topic", args=[draft.pk])
    assert admin_client.get(url).status_code == 405
    staff = User.objects.create_user("viewer", is_staff=True)
    client.force_login(staff)
    assert client.post(url, {"topic_id": "8f2c"}).status_code == 403
    draft.refresh_from_db()
    assert draft.topic_id == ""
