"""The outbox, in process: the publish service against a local fake CMoney (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from kols.crypto import Secret
from kols.models import KOL, Platform, PlatformAccount
from posting.models import AuditEvent, Post, Publication, PublishAttempt
from posting.models import PublicationStatus as S
from posting.publishing.dispatch import publications_dispatch, publications_sweep, stale_sending_after
from posting.publishing.outbox import (
    PublishingError,
    UnpublishFailed,
    publication_confirm,
    publication_publish_now,
    publication_reconcile,
    publication_resend,
    publication_retry,
    publication_send,
    publication_unpublish,
)
from posting.review.services import (
    post_approve,
    post_create_draft,
    post_reject,
    post_schedule,
    post_unschedule,
)
from tests.factories import KOLFactory, PlatformAccountFactory
from tests.posting.fake_platform import Answer, FakePlatform
from tests.posting.publishing_support import EDITOR, approved_post, send_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform_configured")]


# --- The outbox row ---------------------------------------------------------------------------------


def test_approval_writes_a_pending_publication_for_the_kols_account_in_the_same_transaction() -> None:
    post = approved_post()
    publication = Publication.objects.get(post=post)
    assert publication.status == S.PENDING
    assert publication.account == PlatformAccount.objects.get(kol=post.kol)
    assert publication.post_version == post.approved_version == post.version
    assert publication.due_at is None


def test_a_failed_approval_leaves_no_publication_behind() -> None:
    kol = KOLFactory()
    draft = post_create_draft(kol=kol, title="t", body="b")
    with pytest.raises(Exception, match="version"):
        post_approve(post=draft, by=EDITOR, expected_version=draft.version + 1)
    assert not Publication.objects.exists()


def test_scheduling_sets_the_due_time_and_rescheduling_moves_it() -> None:
    post = approved_post()
    first = timezone.now() + dt.timedelta(hours=1)
    post_schedule(post=post, by=EDITOR, at=first)
    assert Publication.objects.get(post=post).due_at == first
    later = first + dt.timedelta(hours=2)
    post_schedule(post=post, by=EDITOR, at=later)
    publication = Publication.objects.get(post=post)
    assert publication.due_at == later and publication.task_eta is None
    post_unschedule(post=post, by=EDITOR)
    assert Publication.objects.get(post=post).due_at is None


def test_the_database_refuses_a_second_published_publication_of_one_post() -> None:
    post = approved_post(dry_run=True)
    first = send_now(post)
    assert first.status == S.PUBLISHED
    with pytest.raises(IntegrityError), transaction.atomic():
        Publication.objects.create(
            post=post,
            post_version=1,
            status=S.PUBLISHED,
            finished_at=timezone.now(),
            claimed_at=timezone.now(),
        )


def test_the_database_refuses_a_second_open_publication_of_one_post() -> None:
    post = approved_post()
    with pytest.raises(IntegrityError), transaction.atomic():
        Publication.objects.create(post=post, post_version=1, status=S.PENDING)


# --- Sending ----------------------------------------------------------------------------------------


def test_publish_now_logs_in_creates_the_article_and_publishes_the_post(platform: FakePlatform) -> None:
    post = approved_post(
        commodity_tags=[{"type": "Stock", "key": "2330.TW", "bullOrBear": 1}], topic_id="t-1"
    )
    publication = send_now(post)

    assert publication.status == S.PUBLISHED
    [article] = platform.articles
    assert publication.platform_post_id == article.id
    assert publication.platform_post_url == f"https://www.cmoney.tw/forum/article/{article.id}"
    assert article.commodity_tags == [{"type": "Stock", "key": "2330", "bullOrBear": 1}]
    assert article.topic == {"id": "t-1"}
    post.refresh_from_db()
    assert (post.status, post.platform_post_id) == (Post.Status.PUBLISHED, article.id)
    attempts = list(publication.attempts.values_list("kind", "http_status", "outcome"))
    assert attempts == [("login", 200, "ok"), ("create", 200, "ok")]
    assert publication.request_payload["body"]["commodityTags"][0]["key"] == "2330"
    actions = list(AuditEvent.objects.filter(post=post).order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["publish_now", "start_publishing", "mark_published"]


def test_the_token_is_cached_encrypted_and_reused_until_shortly_before_it_expires(
    platform: FakePlatform,
) -> None:
    post = approved_post()
    send_now(post)
    account = PlatformAccount.objects.get(kol=post.kol)
    assert account.access_token.reveal().startswith("token-")
    raw = PlatformAccount.objects.filter(pk=account.pk).values_list("access_token", flat=True)
    assert "token-" not in str(PlatformAccount.objects.filter(pk=account.pk).query) and raw
    second = approved_post(title="第二篇")
    Publication.objects.filter(post=second).update(account=account)
    send_now(second)
    assert len(platform.logins) == 1
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=3600 - 60)):
        third = approved_post(title="第三篇")
        Publication.objects.filter(post=third).update(account=account)
        send_now(third)
    assert len(platform.logins) == 2


def test_a_dry_run_records_exactly_what_would_have_been_sent_and_sends_nothing(
    platform: FakePlatform,
) -> None:
    post = approved_post(dry_run=True)
    publication = send_now(post)
    assert publication.status == S.PUBLISHED and publication.is_dry_run
    assert publication.dry_run_reason == "the KOL is set to dry run"
    assert publication.request_payload["dry_run"] is True
    assert publication.request_payload["url"].endswith("/api/Article/Create")
    assert publication.request_payload["body"] == {
        "title": post.title,
        "text": post.body,
        "commodityTags": [{"type": "Stock", "key": "2330", "bullOrBear": 0}],
    }
    assert platform.articles == [] and platform.logins == []
    assert list(publication.attempts.values_list("dry_run", flat=True)) == [True]


@pytest.mark.parametrize(
    ("account", "credentials", "reason"),
    [
        (False, False, "the KOL has no platform account"),
        (True, False, "the account has no login and password"),
    ],
)
def test_an_account_without_credentials_is_a_dry_run(
    account: bool, credentials: bool, reason: str, platform: FakePlatform
) -> None:
    publication = send_now(approved_post(account=account, credentials=credentials))
    assert (publication.backend, publication.dry_run_reason) == ("dry_run", reason)
    assert platform.create_requests == []


def test_a_post_rejected_before_its_time_is_not_sent_and_says_why(platform: FakePlatform) -> None:
    post = approved_post()
    post_schedule(post=post, by=EDITOR, at=timezone.now() + dt.timedelta(minutes=5))
    post_reject(post=post, by=EDITOR, reason="數字錯誤")
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        assert publications_dispatch() == 1
        result = publication_send(publication_id=Publication.objects.get(post=post).pk)
    assert result.status == S.CANCELLED
    publication = Publication.objects.get(post=post)
    assert publication.note == "Not sent: the post is Rejected now."
    assert AuditEvent.objects.filter(post=post, action="publish_cancelled").exists()
    assert platform.create_requests == []


def test_a_task_for_the_old_time_of_a_rescheduled_post_sends_nothing(platform: FakePlatform) -> None:
    post = approved_post()
    post_schedule(post=post, by=EDITOR, at=timezone.now() + dt.timedelta(minutes=5))
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        assert publications_dispatch() == 1
    post_schedule(post=post, by=EDITOR, at=timezone.now() + dt.timedelta(hours=3))
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        result = publication_send(publication_id=Publication.objects.get(post=post).pk)
    assert (result.status, result.detail) == (S.PENDING, "Not due yet.")
    assert platform.create_requests == []


def test_a_post_edited_after_approval_is_not_sent(platform: FakePlatform) -> None:
    post = approved_post()
    publication = publication_publish_now(post=post, by=EDITOR)
    Post.objects.filter(pk=post.pk).update(version=post.version + 1)
    result = publication_send(publication_id=publication.pk)
    assert result.status == S.CANCELLED and "text changed after approval" in result.detail
    assert platform.create_requests == []


def test_a_paused_account_is_not_used_and_the_reason_is_recorded(platform: FakePlatform) -> None:
    post = approved_post()
    PlatformAccount.objects.filter(kol=post.kol).update(status="paused", paused_reason="密碼待更新")
    publication = send_now(post)
    assert publication.status == S.CANCELLED
    assert publication.note == "Not sent: the platform account is paused (密碼待更新)."


def test_a_post_due_longer_ago_than_the_cut_off_is_not_sent(platform: FakePlatform, settings: Any) -> None:
    settings.PUBLISH_CUTOFF_MINUTES = 30
    post = approved_post()
    post_schedule(post=post, by=EDITOR, at=timezone.now() + dt.timedelta(minutes=5))
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=40)):
        result = publication_send(publication_id=Publication.objects.get(post=post).pk)
    assert result.status == S.CANCELLED and "too late" in result.detail
    assert platform.create_requests == []


def test_a_401_gets_one_fresh_login_and_then_a_clear_failure(platform: FakePlatform) -> None:
    post = approved_post()
    platform.refuse_all_tokens = True
    publication = send_now(post)

    assert publication.status == S.FAILED_PERMANENT
    assert "401 even right after a fresh login" in publication.last_error
    assert len(platform.logins) == 2  # the first login (no cached token), then exactly one re-login
    assert len(platform.create_requests) == 2 and platform.articles == []
    kinds = list(publication.attempts.values_list("kind", "http_status"))
    assert kinds == [("login", 200), ("create", 401), ("login", 200), ("create", 401)]
    post.refresh_from_db()
    assert post.status == Post.Status.FAILED and "401" in post.publish_error
    assert PlatformAccount.objects.get(kol=post.kol).auth_failures == 1


def test_repeated_authentication_failures_pause_the_account_with_the_reason(
    platform: FakePlatform, settings: Any
) -> None:
    settings.AUTH_FAILURES_BEFORE_PAUSE = 2
    first = approved_post()
    account = PlatformAccount.objects.get(kol=first.kol)
    account.password = Secret("wrong")
    account.save()
    assert send_now(first).status == S.FAILED_PERMANENT
    second = approved_post(title="第二篇")
    Publication.objects.filter(post=second).update(account=account)
    publication = send_now(second)
    assert "The account is now paused." in publication.last_error
    account.refresh_from_db()
    assert account.status == PlatformAccount.Status.PAUSED
    assert "2 authentication failures" in account.paused_reason and "credentials" in account.paused_reason


def test_a_429_waits_as_retry_after_says_then_publishes_once(platform: FakePlatform) -> None:
    post = approved_post()
    platform.answer_next_creates(Answer(status=429, retry_after="120", creates=False))
    publication = send_now(post)
    assert publication.status == S.FAILED_RETRYABLE
    assert publication.last_http_status == 429
    assert publication.next_attempt_at is not None and publication.claimed_at is not None
    wait = publication.next_attempt_at - publication.claimed_at
    assert dt.timedelta(seconds=119) < wait < dt.timedelta(seconds=125)
    assert PlatformAccount.objects.get(kol=post.kol).rate_limited_until == publication.next_attempt_at
    assert publication_send(publication_id=publication.pk).status == S.FAILED_RETRYABLE  # not yet
    with time_machine.travel(publication.next_attempt_at + dt.timedelta(seconds=1)):
        assert publication_send(publication_id=publication.pk).status == S.PUBLISHED
    assert len(platform.articles) == 1


@pytest.mark.parametrize(
    "answer",
    [Answer(status=500), Answer(status=502, creates=False), Answer(delay=1.6)],
    ids=["500-after-creating", "502-without-creating", "success-slower-than-the-timeout"],
)
def test_a_create_whose_outcome_is_unknown_is_never_sent_again(
    answer: Answer, platform: FakePlatform
) -> None:
    post = approved_post()
    platform.answer_next_creates(answer)
    publication = send_now(post)
    assert publication.status == S.UNKNOWN
    assert "It is not sent again" in publication.last_error
    for _ in range(3):
        publication_send(publication_id=publication.pk)
    publications_dispatch()
    assert len(platform.create_requests) == 1
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHING


def test_a_refused_connection_is_retried_later(platform: FakePlatform, settings: Any) -> None:
    settings.CMONEY_IDENTITY_BASE_URL = "http://127.0.0.1:9"
    publication = send_now(approved_post())
    assert publication.status == S.FAILED_RETRYABLE
    assert "could not connect" in publication.last_error
    assert publication.next_attempt_at is not None and publication.claimed_at is not None
    assert publication.next_attempt_at > publication.claimed_at


def test_a_slow_success_within_the_timeout_publishes(platform: FakePlatform) -> None:
    platform.answer_next_creates(Answer(delay=0.5))
    publication = send_now(approved_post())
    assert publication.status == S.PUBLISHED
    assert publication.attempts.get(kind="create").duration_ms >= 500


def test_secrets_never_reach_the_log(platform: FakePlatform, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    platform.refuse_all_tokens = True
    post = approved_post()
    send_now(post)
    account = PlatformAccount.objects.get(kol=post.kol)
    logged = caplog.text + " ".join(PublishAttempt.objects.values_list("error", flat=True))
    assert account.password.reveal() not in logged and account.login.reveal() not in logged
    assert "token-" not in logged


# --- Reconcile and editors --------------------------------------------------------------------------


def _unknown(platform: FakePlatform, **answer: Any) -> Publication:
    platform.answer_next_creates(Answer(status=500, **answer))
    publication = send_now(approved_post())
    assert publication.status == S.UNKNOWN
    return publication


def test_reconcile_says_plainly_that_cmoney_cannot_be_asked(platform: FakePlatform) -> None:
    publication = _unknown(platform)
    message = publication_reconcile(publication=publication, by=EDITOR)
    assert "documents no way to find an article without its id" in message
    publication.refresh_from_db()
    assert publication.status == S.UNKNOWN


def test_an_editor_confirms_it_is_on_the_forum_by_pasting_the_url(platform: FakePlatform) -> None:
    publication = _unknown(platform)
    [article] = platform.articles
    confirmed = publication_confirm(
        publication=publication, by=EDITOR, url=f"https://www.cmoney.tw/forum/article/{article.id}?ref=x"
    )
    assert (confirmed.status, confirmed.platform_post_id) == (S.PUBLISHED, article.id)
    assert "Verified on the platform" in confirmed.note
    post = Post.objects.get(pk=publication.post_id)
    assert (post.status, post.platform_post_url) == (
        Post.Status.PUBLISHED,
        f"https://www.cmoney.tw/forum/article/{article.id}",
    )


def test_confirming_an_article_the_platform_does_not_have_is_refused(platform: FakePlatform) -> None:
    publication = _unknown(platform)
    with pytest.raises(PublishingError, match="CMoney has no article 424242"):
        publication_confirm(
            publication=publication, by=EDITOR, url="https://www.cmoney.tw/forum/article/424242"
        )
    with pytest.raises(PublishingError, match="not a CMoney article address"):
        publication_confirm(publication=publication, by=EDITOR, url="https://example.com/x/1")
    publication.refresh_from_db()
    assert publication.status == S.UNKNOWN


def test_an_editor_says_it_is_not_on_the_forum_and_it_is_sent_again(platform: FakePlatform) -> None:
    publication = _unknown(platform, creates=False)
    publication_resend(publication=publication, by=EDITOR)
    publication_send(publication_id=publication.pk)
    publication.refresh_from_db()
    assert publication.status == S.PUBLISHED and publication.attempt_count == 2
    assert len(platform.articles) == 1
    assert AuditEvent.objects.filter(post_id=publication.post_id, action="publish_resend").exists()


def test_retry_after_a_permanent_failure_sends_a_new_publication(platform: FakePlatform) -> None:
    platform.answer_next_creates(Answer(status=400, creates=False))
    failed = send_now(approved_post())
    assert failed.status == S.FAILED_PERMANENT
    fresh = publication_retry(publication=failed, by=EDITOR)
    assert fresh.pk != failed.pk
    publication_send(publication_id=fresh.pk)
    fresh.refresh_from_db()
    assert fresh.status == S.PUBLISHED
    assert Post.objects.get(pk=failed.post_id).status == Post.Status.PUBLISHED


def test_unpublish_deletes_the_article_on_the_platform_and_records_it(platform: FakePlatform) -> None:
    publication = send_now(approved_post())
    post = Post.objects.get(pk=publication.post_id)
    deleted = publication_unpublish(post=post, by=EDITOR)
    assert deleted.status == S.DELETED and deleted.deleted_at is not None
    assert platform.deleted == [publication.platform_post_id]
    event = AuditEvent.objects.get(post=post, action="unpublish")
    assert (event.from_status, event.to_status) == ("published", "unpublished")
    assert deleted.attempts.filter(kind="delete", http_status=204).exists()
    post.refresh_from_db()
    assert post.status == Post.Status.UNPUBLISHED
    assert post.published_at is not None and post.platform_post_id == publication.platform_post_id


def test_unpublish_says_clearly_when_the_platform_could_not_delete(
    platform: FakePlatform, settings: Any
) -> None:
    publication = send_now(approved_post())
    post = Post.objects.get(pk=publication.post_id)
    PlatformAccount.objects.filter(kol=post.kol).update(access_token="", token_expires_at=None)
    settings.CMONEY_IDENTITY_BASE_URL = "http://127.0.0.1:9"
    with pytest.raises(UnpublishFailed, match="It is still online"):
        publication_unpublish(post=post, by=EDITOR)
    publication.refresh_from_db()
    assert publication.status == S.PUBLISHED and "could not connect" in publication.last_error
    assert AuditEvent.objects.filter(post=post, action="unpublish_failed").exists()
    assert Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHED


def test_a_person_without_the_publish_permission_cannot_publish(reviewer: Any) -> None:
    post = approved_post()
    from posting.lifecycle.transitions import NotPermitted

    with pytest.raises(NotPermitted):
        publication_publish_now(post=post, by=reviewer)


# --- Dispatcher and sweeper -------------------------------------------------------------------------


def test_the_dispatcher_queues_due_publications_once(django_capture_on_commit_callbacks: Any) -> None:
    due = approved_post()
    post_schedule(post=due, by=EDITOR, at=timezone.now() + dt.timedelta(minutes=1))
    later = approved_post(title="晚一點")
    post_schedule(post=later, by=EDITOR, at=timezone.now() + dt.timedelta(hours=1))
    approved_post(title="只核准")
    later_on = time_machine.travel(timezone.now() + dt.timedelta(minutes=2))
    with later_on, django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert publications_dispatch() == 1
        assert publications_dispatch() == 0
    assert len(callbacks) == 1
    assert Publication.objects.get(post=due).task_eta is not None


def test_the_sweeper_marks_a_send_whose_worker_died_as_unknown(platform: FakePlatform) -> None:
    publication = publication_publish_now(post=approved_post(), by=EDITOR)
    now = timezone.now()
    Publication.objects.filter(pk=publication.pk).update(status=S.SENDING, claimed_at=now, backend="cmoney")
    Post.objects.filter(pk=publication.post_id).update(status=Post.Status.PUBLISHING)
    assert publications_sweep(now=now + dt.timedelta(seconds=60)).stalled == 0
    result = publications_sweep(now=now + stale_sending_after() + dt.timedelta(seconds=1))
    assert result.stalled == 1
    publication.refresh_from_db()
    assert publication.status == S.UNKNOWN and "worker stopped while sending" in publication.last_error


def test_the_sweeper_sends_a_dry_run_again_after_its_worker_died(
    django_capture_on_commit_callbacks: Any,
) -> None:
    publication = publication_publish_now(post=approved_post(dry_run=True), by=EDITOR)
    now = timezone.now()
    Publication.objects.filter(pk=publication.pk).update(
        status=S.SENDING, claimed_at=now, backend="dry_run", attempt_count=1
    )
    Post.objects.filter(pk=publication.post_id).update(status=Post.Status.PUBLISHING)
    later = now + stale_sending_after() + dt.timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=False):
        publications_sweep(now=later)
    publication.refresh_from_db()
    assert publication.status == S.PENDING
    with time_machine.travel(later + dt.timedelta(seconds=1)):
        assert publication_send(publication_id=publication.pk).status == S.PUBLISHED


def test_the_sweeper_requeues_a_task_the_broker_lost(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.PUBLISH_REQUEUE_GRACE_SECONDS = 60
    publication = publication_publish_now(post=approved_post(), by=EDITOR)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert publications_sweep(now=timezone.now() + dt.timedelta(seconds=30)).requeued == 0
        assert publications_sweep(now=timezone.now() + dt.timedelta(seconds=61)).requeued == 1
    assert len(callbacks) == 1
    assert publication_send(publication_id=publication.pk).status == S.PUBLISHED


def test_the_sweeper_records_why_a_waiting_publication_of_a_rejected_post_was_not_sent() -> None:
    post = approved_post()
    post_reject(post=post, by=EDITOR, reason="重複")
    assert publications_sweep().withdrawn == 1
    publication = Publication.objects.get(post=post)
    assert publication.status == S.CANCELLED and "Rejected" in publication.note


def test_a_kol_paused_after_approval_is_not_sent(platform: FakePlatform) -> None:
    post = approved_post()
    KOL.objects.filter(pk=post.kol_id).update(status="paused")
    assert send_now(post).status == S.CANCELLED
    assert platform.create_requests == []


def test_a_webhook_account_posts_signed_json(settings: Any, platform: FakePlatform) -> None:
    import hashlib
    import hmac
    import json

    import httpx
    import respx

    settings.WEBHOOK_URL = "https://hooks.example.com/kol"
    settings.WEBHOOK_SECRET = "s3cret-s3cret-s3cret"
    post = approved_post(account=False)
    account = PlatformAccountFactory(kol=post.kol, platform=Platform.WEBHOOK)
    Publication.objects.filter(post=post).update(account=account)
    with respx.mock:
        route = respx.post("https://hooks.example.com/kol").mock(
            return_value=httpx.Response(200, json={"id": "w-1", "url": "https://other.example.com/p/w-1"})
        )
        publication = send_now(post)
    assert (publication.status, publication.platform_post_id) == (S.PUBLISHED, "w-1")
    request = route.calls.last.request
    expected = hmac.new(
        b"s3cret-s3cret-s3cret",
        request.headers["X-KOL-Timestamp"].encode() + b"." + request.content,
        hashlib.sha256,
    ).hexdigest()
    assert request.headers["X-KOL-Signature"] == f"sha256={expected}"
    assert json.loads(request.content)["title"] == post.title
    assert request.headers["Idempotency-Key"] == f"publication-{publication.pk}"
