"""CMoney as its real API behaves (PLATFORMS.md): the integer articleId, OAuth log-in errors that are our
configuration, and red-flagged articles that exist but answer 404. In process, against the fake platform."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from config.exceptions import ConflictError
from kols.models import PlatformAccount
from posting.lifecycle.transitions import EditConflict, TransitionNotAllowed
from posting.models import AuditEvent, PlatformHalt, Post, Publication
from posting.models import PublicationStatus as S
from posting.publishing.accounts import platform_resume
from posting.publishing.outbox import (
    publication_confirm,
    publication_resend,
    publication_send,
)
from posting.publishing.topics import topics_trending
from posting.review.services import (
    post_approve,
    post_approve_edit,
    post_attach_topic,
    post_create_draft,
    post_run_checks,
    post_update_text,
)
from tests.factories import KOLFactory, PlatformAccountFactory, StockFactory
from tests.posting.fake_platform import Answer, FakePlatform
from tests.posting.publishing_support import EDITOR, approved_post, send_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform_configured")]


def test_the_article_id_is_read_from_the_integer_article_id(platform: FakePlatform) -> None:
    publication = send_now(approved_post())
    [article] = platform.articles
    assert (publication.status, publication.platform_post_id) == (S.PUBLISHED, article.id)
    assert publication.platform_post_url.endswith(f"/forum/article/{article.id}")


@pytest.mark.parametrize("error", ["invalid_client", "unsupported_grant_type"])
def test_a_refused_client_configuration_halts_sending_and_pauses_no_account(
    platform: FakePlatform, settings: object, error: str
) -> None:
    settings.AUTH_FAILURES_BEFORE_PAUSE = 1
    platform.login_error = error
    first, second = approved_post(), approved_post()
    publication = send_now(first)
    assert publication.status == S.FAILED_RETRYABLE and "CMONEY_CLIENT_ID" in publication.last_error
    halt = PlatformHalt.objects.get(platform="cmoney")
    assert error in halt.reason
    assert not PlatformAccount.objects.filter(status=PlatformAccount.Status.PAUSED).exists()
    # Every other send waits without logging in again, and no account is paused.
    logins = len(platform.logins)
    other = send_now(second)
    assert other.status == S.PENDING and other.next_attempt_at is not None
    assert len(platform.logins) == logins and not platform.create_requests
    # The operator fixes the setting and resumes: the waiting post goes out.
    platform.login_error = ""
    assert platform_resume(platform="cmoney")
    Publication.objects.filter(pk=other.pk).update(next_attempt_at=None)
    publication_send(publication_id=other.pk)
    other.refresh_from_db()
    assert other.status == S.PUBLISHED


def test_invalid_grant_still_counts_against_that_account_only(
    platform: FakePlatform, settings: object
) -> None:
    settings.AUTH_FAILURES_BEFORE_PAUSE = 1
    platform.login_error = "invalid_grant"
    post = approved_post()
    publication = send_now(post)
    assert publication.status == S.FAILED_PERMANENT
    assert PlatformAccount.objects.get(kol=post.kol).status == PlatformAccount.Status.PAUSED
    assert not PlatformHalt.objects.exists()


def _unknown_on_the_platform(platform: FakePlatform) -> Publication:
    platform.answer_next_creates(Answer(status=500))
    publication = send_now(approved_post())
    assert publication.status == S.UNKNOWN
    return publication


def test_a_red_flagged_article_is_confirmed_recorded_as_hidden_and_never_resent(
    platform: FakePlatform,
) -> None:
    publication = _unknown_on_the_platform(platform)
    [article] = platform.articles
    platform.hidden_ids.add(article.id)
    confirmed = publication_confirm(
        publication=publication, by=EDITOR, url=f"https://www.cmoney.tw/forum/article/{article.id}"
    )
    assert confirmed.status == S.PUBLISHED and confirmed.hidden_by_moderation_at is not None
    assert "hidden by moderation" in confirmed.note
    assert AuditEvent.objects.filter(post_id=publication.post_id, action="publish_hidden").exists()


def test_a_hidden_article_is_never_offered_a_resend(platform: FakePlatform) -> None:
    publication = _unknown_on_the_platform(platform)
    Publication.objects.filter(pk=publication.pk).update(hidden_by_moderation_at="2026-11-20T10:00:00+08:00")
    publication.refresh_from_db()
    with pytest.raises(ConflictError, match="hidden by moderation"):
        publication_resend(publication=publication, by=EDITOR)
    assert len(platform.create_requests) == 1


# --- Edits after publishing (PUT /api/Article/Update/{id}) ------------------------------------------


def _published(platform: FakePlatform) -> Post:
    publication = send_now(approved_post())
    assert publication.status == S.PUBLISHED
    return Post.objects.get(pk=publication.post_id)


def _edit(
    post: Post, title: str = "台積電觀察（更新）", body: str = "更新：今天收盤105元，投資有風險。"
) -> Post:
    result = post_update_text(post=post, by=EDITOR, title=title, body=body, expected_version=post.version)
    assert result.changed and not result.reopened
    return result.post


def test_an_edit_of_a_published_post_waits_for_approval_and_is_not_sent_before(
    platform: FakePlatform,
) -> None:
    post = _edit(_published(platform))
    assert post.status == Post.Status.PUBLISHED and post.version == (post.approved_version or 0) + 1
    assert not platform.updates
    event = AuditEvent.objects.filter(post=post, action="edit").latest("created_at")
    assert "approved again" in event.note and "tags cannot change" in event.note


def test_the_approved_edit_is_pushed_to_the_article_through_the_outbox(platform: FakePlatform) -> None:
    post = _edit(_published(platform))
    approved = post_approve_edit(post=post, by=EDITOR, expected_version=post.version)
    edit = Publication.objects.get(post=post, kind=Publication.Kind.UPDATE)
    assert edit.status == S.PENDING and edit.post_version == approved.version
    publication_send(publication_id=edit.pk)
    edit.refresh_from_db()
    assert edit.status == S.PUBLISHED and edit.platform_post_id == ""
    [update] = platform.updates
    assert update["id"] == post.platform_post_id
    assert update["body"] == {
        "article": {"title": "台積電觀察（更新）", "text": "更新：今天收盤105元，投資有風險。"},
        "removeProperties": [],
    }
    assert edit.request_payload["method"] == "PUT"
    assert edit.attempts.filter(kind="update", http_status=204).exists()
    [article] = platform.articles
    assert article.title == "台積電觀察（更新）" and len(platform.create_requests) == 1
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert AuditEvent.objects.filter(post=post, action="edit_published").exists()
    # Sending the edit again does nothing: it is claimed once.
    publication_send(publication_id=edit.pk)
    assert len(platform.updates) == 1


def test_an_edit_whose_outcome_is_unknown_is_not_sent_again(platform: FakePlatform) -> None:
    post = _edit(_published(platform))
    post_approve_edit(post=post, by=EDITOR, expected_version=post.version)
    edit = Publication.objects.get(post=post, kind=Publication.Kind.UPDATE)
    platform.answer_updates_with = 500
    publication_send(publication_id=edit.pk)
    edit.refresh_from_db()
    assert edit.status == S.UNKNOWN and "may be on the platform" in edit.last_error
    for _ in range(2):
        publication_send(publication_id=edit.pk)
    assert len(platform.updates) == 1


def test_an_edit_of_an_article_gone_from_the_platform_fails_clearly(platform: FakePlatform) -> None:
    post = _edit(_published(platform))
    platform.articles.clear()
    post_approve_edit(post=post, by=EDITOR, expected_version=post.version)
    edit = Publication.objects.get(post=post, kind=Publication.Kind.UPDATE)
    publication_send(publication_id=edit.pk)
    edit.refresh_from_db()
    assert edit.status == S.FAILED_PERMANENT and edit.last_http_status == 404
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


def test_an_edit_approved_while_the_text_changed_again_is_refused(platform: FakePlatform) -> None:
    post = _edit(_published(platform))
    stale = post.version
    post = _edit(post, title="再改一次", body="再改一次：投資有風險。")
    with pytest.raises(EditConflict):
        post_approve_edit(post=post, by=EDITOR, expected_version=stale)
    assert not Publication.objects.filter(post=post, kind=Publication.Kind.UPDATE).exists()


def test_an_unpublished_post_has_no_edit_to_approve(platform: FakePlatform) -> None:
    post = approved_post()
    with pytest.raises(TransitionNotAllowed):
        post_approve_edit(post=post, by=EDITOR)


# --- Community topics ---------------------------------------------------------------------------------


def test_attaching_a_topic_sends_it_as_community_topic(platform: FakePlatform) -> None:
    kol = KOLFactory(dry_run=False, max_posts_per_hour=20, max_posts_per_day=20)
    PlatformAccountFactory(kol=kol)
    draft = post_create_draft(
        kol=kol,
        stock=StockFactory(code="2330", name="台積電"),
        title="台積電觀察",
        body="今天收盤104元，投資有風險。",
    )
    post_attach_topic(post=draft, by=EDITOR, topic_id="8f2c", topic_title="升息循環")
    post = post_approve(post=post_run_checks(post=Post.objects.get(pk=draft.pk)), by=EDITOR)
    send_now(post)
    [article] = platform.articles
    assert article.topic == {"id": "8f2c"}


def test_a_published_post_cannot_change_its_topic(platform: FakePlatform) -> None:
    post = _published(platform)
    with pytest.raises(TransitionNotAllowed):
        post_attach_topic(post=post, by=EDITOR, topic_id="8f2c")


def test_trending_topics_are_read_with_the_kols_account(platform: FakePlatform) -> None:
    platform.trending = [{"id": "8f2c", "title": "升息循環"}]
    post = approved_post()
    [topic] = topics_trending(kol=post.kol)
    assert (topic.id, topic.title) == ("8f2c", "升息循環")
    assert platform.logins


# --- The post page ------------------------------------------------------------------------------------


def test_the_post_page_offers_the_edit_approval_and_says_tags_cannot_change(
    platform: FakePlatform, admin_client: Any
) -> None:
    post = _edit(_published(platform))
    url = reverse("admin:posting_post_change", args=[post.pk])
    page = admin_client.get(url).content.decode()
    assert 'id="published-edit"' in page and 'id="approve-edit-button"' in page
    create = Publication.objects.get(post=post, kind=Publication.Kind.CREATE)
    act = reverse("admin:posting_publication_act", args=[create.pk])
    admin_client.post(act, {"action": "approve_edit", "version": post.version})
    assert Publication.objects.filter(post=post, kind=Publication.Kind.UPDATE, status=S.PENDING).exists()


def test_the_post_page_shows_a_halt_and_a_hidden_article_without_a_resend_button(
    platform: FakePlatform, admin_client: Any
) -> None:
    publication = _unknown_on_the_platform(platform)
    Publication.objects.filter(pk=publication.pk).update(hidden_by_moderation_at="2026-11-20T10:00:00+08:00")
    PlatformHalt.objects.create(
        platform="cmoney", reason="invalid_client", halted_at="2026-11-20T10:00:00+08:00"
    )
    page = admin_client.get(reverse("admin:posting_post_change", args=[publication.post_id])).content.decode()
    assert f'id="publication-{publication.pk}-hidden"' in page and 'id="platform-halt-cmoney"' in page
    assert 'value="resend"' not in page


def test_an_editor_confirms_an_edit_whose_outcome_was_unknown(platform: FakePlatform) -> None:
    post = _edit(_published(platform))
    post_approve_edit(post=post, by=EDITOR, expected_version=post.version)
    edit = Publication.objects.get(post=post, kind=Publication.Kind.UPDATE)
    platform.answer_updates_with = 500
    publication_send(publication_id=edit.pk)
    confirmed = publication_confirm(
        publication=Publication.objects.get(pk=edit.pk),
        by=EDITOR,
        url=f"https://www.cmoney.tw/forum/article/{post.platform_post_id}",
    )
    assert confirmed.status == S.PUBLISHED and confirmed.platform_post_id == ""
    assert (
        Publication.objects.get(post=post, kind=Publication.Kind.CREATE).platform_post_id
        == post.platform_post_id
    )
