from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from posting.models import AuditEvent, Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

DECISIONS = {
    "approve": {},
    "reject": {"reason": "數字錯誤"},
    "request-changes": {"reason": "請補上資料來源"},
}


def _future() -> str:
    return (timezone.now() + dt.timedelta(hours=2)).isoformat()


@pytest.mark.parametrize("decision", list(DECISIONS))
def test_a_writer_gets_403_for_every_review_decision(decision: str, api_as: Any, writer: User) -> None:
    post = PostFactory(status=Post.Status.PENDING_REVIEW)
    response = api_as(writer).post(f"/api/posts/{post.pk}/{decision}/", DECISIONS[decision], format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    post.refresh_from_db()
    assert post.status == Post.Status.PENDING_REVIEW
    assert not AuditEvent.objects.filter(post=post).exists()


@pytest.mark.parametrize(
    ("decision", "expected"),
    [("approve", "approved"), ("reject", "rejected"), ("request-changes", "changes_requested")],
)
def test_a_reviewer_decides_through_the_api(
    decision: str, expected: str, api_as: Any, reviewer: User
) -> None:
    post = PostFactory(status=Post.Status.PENDING_REVIEW)
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/{decision}/", DECISIONS[decision], format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == expected


def test_schedule_then_the_post_reports_its_time(api_as: Any, reviewer: User) -> None:
    post = PostFactory(status=Post.Status.APPROVED, approved_at=timezone.now())
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/schedule/", {"at": _future()}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "scheduled" and response.json()["scheduled_at"]


def test_schedule_in_the_past_is_a_field_error(api_as: Any, reviewer: User) -> None:
    post = PostFactory(status=Post.Status.APPROVED, approved_at=timezone.now())
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/schedule/", {"at": past}, format="json")
    assert response.status_code == 400
    assert "at" in response.json()["error"]["fields"]


def test_reject_without_a_reason_is_a_field_error(api_as: Any, reviewer: User) -> None:
    post = PostFactory(status=Post.Status.PENDING_REVIEW)
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/reject/", {}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]


def test_approving_twice_is_a_409_conflict(api_as: Any, reviewer: User) -> None:
    post = PostFactory(status=Post.Status.PENDING_REVIEW)
    client = api_as(reviewer)
    assert client.post(f"/api/posts/{post.pk}/approve/", {}, format="json").status_code == 200
    second = client.post(f"/api/posts/{post.pk}/approve/", {}, format="json")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_approved"
    assert "reviewer" in second.json()["error"]["message"]


def test_approving_a_version_other_than_the_current_one_is_a_409(api_as: Any, reviewer: User) -> None:
    post = PostFactory(status=Post.Status.PENDING_REVIEW, version=3)
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/approve/", {"version": 2}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "edit_conflict"


def test_a_blocking_finding_refuses_approval_with_its_code(api_as: Any, reviewer: User) -> None:
    post = PostFactory(status=Post.Status.PENDING_REVIEW, check_findings=[{"code": "x", "severity": "block"}])
    response = api_as(reviewer).post(f"/api/posts/{post.pk}/approve/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "blocking_findings"


def test_patch_over_a_newer_version_is_refused_and_changes_nothing(api_as: Any, writer: User) -> None:
    post = PostFactory(status=Post.Status.PENDING_REVIEW, version=2, body="原本的內容")
    response = api_as(writer).patch(
        f"/api/posts/{post.pk}/", {"title": "新標題", "body": "我的修改", "version": 1}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "edit_conflict"
    post.refresh_from_db()
    assert (post.body, post.version) == ("原本的內容", 2)


def test_patch_needs_the_version_field(api_as: Any, writer: User) -> None:
    post = PostFactory()
    response = api_as(writer).patch(f"/api/posts/{post.pk}/", {"title": "t", "body": "b"}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()["error"]["fields"]


def test_a_user_who_may_only_read_cannot_patch(api_as: Any) -> None:
    from django.contrib.auth.models import Permission

    reader = User.objects.create_user("reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_post"))
    post = PostFactory()
    response = api_as(reader).patch(
        f"/api/posts/{post.pk}/", {"title": "t", "body": "b", "version": 1}, format="json"
    )
    assert response.status_code == 403
