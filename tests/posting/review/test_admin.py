from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from posting.models import AuditEvent, Post
from posting.review.locks import edit_lock_holder
from tests.factories import KOLFactory, PostFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/posting/post/"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _decide(client: Client, post: Any, decision: str, **data: Any) -> Any:
    url = reverse("admin:posting_post_decide", args=[post.pk])
    return client.post(url, {"decision": decision, **data}, follow=True)


def test_the_queue_shows_pending_posts_riskiest_then_oldest(reviewer: User) -> None:
    now = timezone.now()
    low_old = PostFactory(title="低風險舊", risk_level="low", risk_rank=3, created_at=now)
    high_new = PostFactory(title="高風險新", risk_level="high", risk_rank=1)
    PostFactory(title="早就通過的文章", status=Post.Status.APPROVED, approved_at=now)
    Post.objects.filter(pk=low_old.pk).update(created_at=now - dt.timedelta(days=1))
    html = _client(reviewer).get(QUEUE).content.decode()
    assert html.index(str(high_new.title)) < html.index(str(low_old.title))
    assert "早就通過的文章" not in html


def test_the_queue_filters_by_status_and_searches_body_and_stock(reviewer: User) -> None:
    PostFactory(title="被退回的", status=Post.Status.REJECTED)
    PostFactory(title="找得到", body="特別的關鍵詞")
    client = _client(reviewer)
    assert "被退回的" in client.get(QUEUE, {"status": "rejected"}).content.decode()
    assert "找得到" in client.get(QUEUE, {"q": "特別的關鍵詞"}).content.decode()


def test_a_reviewer_approves_from_the_post_page(reviewer: User) -> None:
    post = PostFactory()
    response = _decide(_client(reviewer), post, "approve", version=post.version)
    assert response.status_code == 200
    post.refresh_from_db()
    assert post.status == Post.Status.APPROVED and post.approved_by == reviewer


@pytest.mark.parametrize("decision", ["approve", "reject", "request_changes"])
def test_a_writer_is_told_no_and_nothing_changes(decision: str, writer: User) -> None:
    post = PostFactory()
    response = _decide(_client(writer), post, decision, reason="x", version=post.version)
    assert response.status_code == 200
    assert "permission" in response.content.decode().lower() or "權限" in response.content.decode()
    post.refresh_from_db()
    assert post.status == Post.Status.PENDING_REVIEW
    assert not AuditEvent.objects.filter(post=post).exists()


def test_a_writer_sees_no_decision_buttons(writer: User) -> None:
    post = PostFactory()
    html = _client(writer).get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    assert 'id="approve-button"' not in html
    assert 'id="edit-form"' in html


def test_a_writer_cannot_run_the_bulk_approve_action(writer: User) -> None:
    post = PostFactory()
    response = _client(writer).post(
        QUEUE, {"action": "approve_selected", "_selected_action": [post.pk], "confirm": "yes"}
    )
    assert response.status_code in (200, 302)
    post.refresh_from_db()
    assert post.status == Post.Status.PENDING_REVIEW


def test_bulk_approve_asks_for_confirmation_then_reports_counts_per_reason(reviewer: User) -> None:
    fine = PostFactory()
    blocked = PostFactory(check_findings=[{"code": "guaranteed_return", "severity": "block"}])
    own = PostFactory(text_edited_by=reviewer)
    client = _client(reviewer)
    selection = {"action": "approve_selected", "_selected_action": [fine.pk, blocked.pk, own.pk]}
    confirm_page = client.post(QUEUE, selection)
    assert 'id="confirm-action"' in confirm_page.content.decode()
    assert Post.objects.get(pk=fine.pk).status == Post.Status.PENDING_REVIEW

    done = client.post(QUEUE, {**selection, "confirm": "yes"}, follow=True).content.decode()
    assert Post.objects.get(pk=fine.pk).status == Post.Status.APPROVED
    assert Post.objects.get(pk=blocked.pk).status == Post.Status.PENDING_REVIEW
    assert Post.objects.get(pk=own.pk).status == Post.Status.PENDING_REVIEW
    assert "1 × " in done and ("blocking findings" in done or "禁止" in done or "阻擋" in done)


def test_bulk_reject_requires_a_reason(reviewer: User) -> None:
    post = PostFactory()
    client = _client(reviewer)
    selection = {"action": "reject_selected", "_selected_action": [post.pk], "confirm": "yes"}
    assert 'id="confirm-action"' in client.post(QUEUE, {**selection, "reason": ""}).content.decode()
    client.post(QUEUE, {**selection, "reason": "重複"})
    post.refresh_from_db()
    assert post.status == Post.Status.REJECTED and post.status_note == "重複"


def test_bulk_schedule_puts_posts_into_free_slots_per_kol(reviewer: User, settings: Any) -> None:
    settings.POSTING_TRADING_DAYS_ONLY = False
    settings.POSTING_SLOT_TIMES = ["09:00", "12:00", "20:00"]
    kol = KOLFactory(max_posts_per_hour=1, max_posts_per_day=2)
    now = timezone.now()
    posts = [PostFactory(kol=kol, status=Post.Status.APPROVED, approved_at=now) for _ in range(3)]
    _client(reviewer).post(
        f"{QUEUE}?status=approved",
        {"action": "schedule_selected", "_selected_action": [p.pk for p in posts], "confirm": "yes"},
    )
    scheduled = Post.objects.filter(kol=kol, status=Post.Status.SCHEDULED).values_list(
        "scheduled_at", flat=True
    )
    times = sorted(at for at in scheduled if at is not None)
    assert len(times) == 3
    local_days = [timezone.localtime(t).date() for t in times]
    assert max(local_days.count(day) for day in set(local_days)) <= 2  # the daily cap holds


def test_a_draft_with_script_renders_inert_everywhere(admin_client: Client) -> None:
    evil = '<script>window.pwned=1</script><img src=x onerror="alert(1)">'
    post = PostFactory(
        title=f"標題{evil}", body=f"內文{evil}",
        check_findings=[{"code": "x", "severity": "warn", "excerpt": "<script>", "message": evil}],
        market_snapshot={"latest": {"close": evil}},
    )  # fmt: skip
    for url in (reverse("admin:posting_post_change", args=[post.pk]), QUEUE, "/admin/"):
        html = admin_client.get(url).content.decode()
        assert "<script>window.pwned" not in html, url
        assert 'onerror="alert(1)"' not in html, url
    assert (
        "&lt;script&gt;window.pwned=1&lt;/script&gt;"
        in admin_client.get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    )


def test_the_post_page_says_who_else_is_editing(reviewer: User, writer: User) -> None:
    post = PostFactory()
    _client(writer).get(reverse("admin:posting_post_change", args=[post.pk]))
    html = _client(reviewer).get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    assert 'id="edit-lock"' in html and "writer" in html


def test_leaving_the_post_page_frees_the_edit_lock_at_once(reviewer: User, writer: User) -> None:
    post = PostFactory()
    writer_client = _client(writer)
    page = writer_client.get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    release_url = reverse("admin:posting_post_release_lock", args=[post.pk])
    assert f'data-release-url="{release_url}"' in page and "posting/edit_lock.js" in page
    # Someone else's beacon frees nothing; the holder's own does.
    assert _client(reviewer).post(release_url).status_code == 204
    assert edit_lock_holder(post_id=post.pk) is not None
    assert writer_client.get(release_url).status_code == 405
    assert writer_client.post(release_url).status_code == 204
    assert edit_lock_holder(post_id=post.pk) is None
    html = _client(reviewer).get(reverse("admin:posting_post_change", args=[post.pk])).content.decode()
    assert 'id="edit-lock"' not in html


def test_saving_the_text_frees_the_edit_lock(writer: User) -> None:
    post = PostFactory(version=1)
    client = _client(writer)
    client.get(reverse("admin:posting_post_change", args=[post.pk]))
    assert edit_lock_holder(post_id=post.pk) is not None
    response = client.post(
        reverse("admin:posting_post_change", args=[post.pk]),
        {"title": post.title, "body": post.body + "補充一句。", "version": 1},
    )
    assert response.status_code == 302
    assert edit_lock_holder(post_id=post.pk) is None


def test_saving_over_a_newer_version_is_refused_and_keeps_the_text(writer: User) -> None:
    post = PostFactory(version=1)
    Post.objects.filter(pk=post.pk).update(version=2, body="別人的版本")
    response = _client(writer).post(
        reverse("admin:posting_post_change", args=[post.pk]),
        {"title": post.title, "body": "我的修改內容", "version": 1},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="form-errors"' in html and "我的修改內容" in html
    assert Post.objects.get(pk=post.pk).body == "別人的版本"


def test_the_review_queue_and_post_page_do_a_constant_number_of_queries(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    PostFactory.create_batch(3)
    post = PostFactory()
    page = reverse("admin:posting_post_change", args=[post.pk])
    counts = {}
    for url in (QUEUE, page, "/admin/"):
        with django_assert_max_num_queries(15) as captured:
            assert admin_client.get(url).status_code == 200
        counts[url] = len(captured.captured_queries)
    PostFactory.create_batch(30)
    for url, count in counts.items():
        with django_assert_max_num_queries(count, info=url):
            admin_client.get(url)
