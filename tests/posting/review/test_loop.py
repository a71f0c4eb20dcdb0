"""The review loop has no dead end: sent back, edited and resubmitted; a post written by hand (issue 10, item 9)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from kols.roles import WRITER
from posting.models import AuditEvent, Post
from posting.review.approval import approval_refusal
from posting.review.selectors import resubmitted_after_changes
from posting.review.services import post_request_changes, post_run_checks, post_submit, post_write
from tests.factories import KOLFactory, PostFactory, StockFactory

pytestmark = pytest.mark.django_db


def _sent_back(reviewer: User) -> Any:
    post: Any = PostFactory()
    return post_request_changes(post=post, by=reviewer, note="數字請再確認")


def test_a_writer_edits_and_resubmits_from_the_api(api_as: Any, writer: User, reviewer: User) -> None:
    post = _sent_back(reviewer)
    client = api_as(writer)
    edited = client.patch(
        f"/api/posts/{post.pk}/",
        {"title": post.title, "body": post.body + "已修正。", "version": 1},
        format="json",
    )
    assert edited.status_code == 200 and edited.json()["status"] == "changes_requested"
    answer = client.post(f"/api/posts/{post.pk}/submit/", {}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "pending_review"
    assert AuditEvent.objects.filter(post=post, action="submit", from_status="changes_requested").exists()


def test_submitting_a_post_already_in_review_is_a_409(api_as: Any, writer: User) -> None:
    post = PostFactory()
    answer = api_as(writer).post(f"/api/posts/{post.pk}/submit/", {}, format="json")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "transition_not_allowed"


def test_a_writer_resubmits_from_the_post_page_and_the_queue_shows_it_came_back(
    client: Any, writer: User, reviewer: User
) -> None:
    post = _sent_back(reviewer)
    other = PostFactory()
    client.force_login(writer)
    page = client.get(f"/admin/posting/post/{post.pk}/change/").content.decode()
    assert 'id="submit-button"' in page and 'id="approve-button"' not in page
    client.post(f"/admin/posting/post/{post.pk}/decide/", {"decision": "submit"})
    post.refresh_from_db()
    assert post.status == Post.Status.PENDING_REVIEW
    client.force_login(reviewer)
    queue = client.get("/admin/posting/post/").content.decode()
    assert 'data-label="came back"' in queue and other.title in queue and post.title in queue
    flags = dict(Post.objects.annotate(back=resubmitted_after_changes()).values_list("pk", "back"))
    assert flags == {post.pk: True, other.pk: False}


def test_an_editor_writes_a_post_by_hand_which_is_checked_and_reviewed_by_someone_else(
    api_as: Any, writer: User, reviewer: User
) -> None:
    kol, stock = KOLFactory(), StockFactory()
    client = api_as(writer)
    answer = client.post(
        "/api/posts/",
        {"kol": kol.pk, "stock": stock.pk, "title": "手寫觀察", "body": "今天收盤104元。"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["status"], body["generator"]) == ("draft", "human") and body["checked_at"] is not None
    post = Post.objects.get(pk=body["id"])
    post_submit(post=post, by=writer)
    # The author wrote revision 1: they may not approve it, a reviewer may.
    refused = client.post(f"/api/posts/{post.pk}/approve/", {}, format="json")
    assert refused.status_code == 403
    approved = api_as(reviewer).post(f"/api/posts/{post.pk}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


def test_the_author_of_a_hand_written_post_may_not_approve_it(reviewer: User) -> None:
    reviewer.groups.add(Group.objects.get(name=WRITER))
    reviewer = User.objects.get(pk=reviewer.pk)  # fresh permission cache
    post = post_write(kol=KOLFactory(), stock=None, title="手寫", body="今天收盤104元。", by=reviewer)
    post = post_run_checks(post=post_submit(post=post, by=reviewer))
    refusal = approval_refusal(post=post, user=reviewer)
    assert refusal is not None and refusal.code == "self_approval"


def test_the_admin_add_page_writes_a_checked_draft(client: Any, writer: User) -> None:
    kol, stock = KOLFactory(), StockFactory()
    client.force_login(writer)
    assert client.get("/admin/posting/post/add/").status_code == 200
    answer = client.post(
        "/admin/posting/post/add/",
        {"kol": kol.pk, "stock": stock.pk, "title": "手寫", "body": "今天收盤104元。"},
    )
    post = Post.objects.get(title="手寫")
    assert answer.status_code == 302 and answer["Location"].endswith(f"/{post.pk}/change/")
    assert post.status == Post.Status.DRAFT and post.checked_version == post.version
    blank = client.post("/admin/posting/post/add/", {"kol": kol.pk, "title": "", "body": ""})
    assert blank.status_code == 200 and Post.objects.count() == 1
