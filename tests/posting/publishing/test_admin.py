"""The publishing admin: the Publications card of the post page, its buttons, the outbox list and the overview."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from posting.models import Post, Publication
from posting.models import PublicationStatus as S
from tests.posting.fake_platform import Answer, FakePlatform
from tests.posting.publishing_support import approved_post, send_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform_configured")]


def _client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _page(client: Client, post: Post) -> str:
    response = client.get(reverse("admin:posting_post_change", args=[post.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_post_page_shows_every_attempt_with_time_status_duration_and_error(
    administrator: User, platform: FakePlatform
) -> None:
    platform.answer_next_creates(Answer(status=400, creates=False))
    failed = send_now(approved_post())
    html = _page(_client(administrator), failed.post)
    card = html[html.index('id="publications"') :]
    assert "Create article" in card and "Log in" in card
    assert "<td>400</td>" in card and "<td>200</td>" in card
    assert "CMoney answered HTTP 400" in card
    assert 'id="publication-' in card and "Retry now" in card


def test_a_dry_run_is_labelled_on_the_post_page_and_offers_no_platform_action(administrator: User) -> None:
    publication = send_now(approved_post(dry_run=True))
    html = _page(_client(administrator), publication.post)
    assert "DRY RUN: the KOL is set to dry run" in html
    assert 'id="dry-run-chip"' in html and 'id="dry-run-banner"' in html
    card = html[html.index('id="publications"') :]
    assert "Recorded (dry run, not sent)" in card
    # Nothing that only makes sense on a real platform: no "delete it from the forum".
    assert "Delete this article from the platform" not in card and "It is on the forum" not in card


def test_publish_now_from_the_post_page_queues_the_publication(administrator: User) -> None:
    post = approved_post()
    client = _client(administrator)
    assert 'id="publish-now-button"' in _page(client, post)
    response = client.post(reverse("admin:posting_publication_publish_now", args=[post.pk]), follow=True)
    assert response.status_code == 200
    publication = Publication.objects.get(post=post)
    assert publication.due_at is not None and publication.task_eta is not None


def test_a_reviewer_without_the_publish_permission_sees_no_buttons_and_is_refused(reviewer: User) -> None:
    post = approved_post()
    client = _client(reviewer)
    html = _page(client, post)
    assert 'id="publications"' in html and 'id="publish-now-button"' not in html
    response = client.post(reverse("admin:posting_publication_publish_now", args=[post.pk]), follow=True)
    assert "You do not have permission to publish" in response.content.decode()
    assert Publication.objects.get(post=post).due_at is None


def test_an_editor_confirms_an_unknown_publication_from_the_post_page(
    administrator: User, platform: FakePlatform
) -> None:
    platform.answer_next_creates(Answer(status=500))
    publication = send_now(approved_post())
    article_id = platform.articles[0].id
    client = _client(administrator)
    html = _page(client, publication.post)
    assert "It is on the forum" in html and "It is not: send again" in html
    url = reverse("admin:posting_publication_act", args=[publication.pk])
    client.post(url, {"action": "confirm", "url": f"https://www.cmoney.tw/forum/article/{article_id}"})
    publication.refresh_from_db()
    assert (publication.status, publication.platform_post_id) == (S.PUBLISHED, article_id)


def test_unpublish_from_the_post_page_deletes_on_the_platform(
    administrator: User, platform: FakePlatform
) -> None:
    publication = send_now(approved_post())
    url = reverse("admin:posting_publication_act", args=[publication.pk])
    response = _client(administrator).post(url, {"action": "unpublish", "confirm": "on"}, follow=True)
    publication.refresh_from_db()
    assert publication.status == S.DELETED
    assert platform.deleted == [publication.platform_post_id]
    assert "Deleted from the platform" in response.content.decode()


def test_the_outbox_list_links_to_the_overview_and_its_retry_action_works(
    administrator: User, platform: FakePlatform, django_assert_max_num_queries: Any
) -> None:
    platform.answer_next_creates(Answer(status=400, creates=False))
    failed = send_now(approved_post())
    send_now(approved_post(dry_run=True))
    client = _client(administrator)
    changelist = reverse("admin:posting_publication_changelist")
    with django_assert_max_num_queries(12):
        html = client.get(changelist).content.decode()
    assert 'id="publishing-overview-link"' in html and "DRY RUN" in html
    page = client.get(reverse("admin:posting_publication_change", args=[failed.pk]))
    assert page.status_code == 200 and "CMoney answered HTTP 400" in page.content.decode()
    client.post(changelist, {"action": "retry_selected", "_selected_action": [failed.pk]})
    assert Publication.objects.filter(post=failed.post, status=S.PENDING).exists()


def test_the_overview_shows_due_unknown_failed_and_per_account(
    administrator: User, platform: FakePlatform, django_assert_max_num_queries: Any
) -> None:
    platform.answer_next_creates(Answer(status=500), Answer(status=400, creates=False))
    unknown = send_now(approved_post(title="未知的那篇"))
    send_now(approved_post(title="失敗的那篇"))
    client = _client(administrator)
    with django_assert_max_num_queries(16):
        html = client.get(reverse("admin:posting_publication_overview")).content.decode()
    assert "未知的那篇" in html[html.index('id="unknown"') : html.index('id="due"')]
    assert "失敗的那篇" in html[html.index('id="failed"') : html.index('id="per-account"')]
    assert unknown.post.kol.nickname in html[html.index('id="per-account"') :]
