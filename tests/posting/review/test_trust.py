"""Approve exactly what was checked, four eyes always, truthful refusals (issue 10, items 1, 2 and 7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from config.exceptions import ServiceError
from kols.roles import REVIEWER
from posting.lifecycle.transitions import EditConflict, ReviewRefused
from posting.models import Post
from posting.models import PublicationStatus as PS
from posting.publishing.outbox import publication_publish_now
from posting.publishing.sending import publication_send
from posting.review.approval import approval_refusal, editors_since_approval
from posting.review.services import (
    post_approve,
    post_create_draft,
    post_request_changes,
    post_schedule,
    post_update_text,
)
from tests.factories import KOLFactory, PostFactory, StockFactory
from tests.posting.publishing_support import EDITOR, approved_post, configure, platform  # noqa: F401

pytestmark = pytest.mark.django_db


def _post(**fields: Any) -> Any:
    return PostFactory(**fields)


def _draft() -> Post:
    post = post_create_draft(
        kol=KOLFactory(), stock=StockFactory(), title="台積電觀察", body="今天收盤104元。"
    )
    Post.objects.filter(pk=post.pk).update(checked_version=post.version)
    post.refresh_from_db()
    return post


def _edit(post: Post, by: User, body: str) -> Post:
    post.refresh_from_db()
    return post_update_text(post=post, by=by, title=post.title, body=body, expected_version=post.version).post


def test_approve_refuses_findings_of_an_older_version(reviewer: User) -> None:
    post = _post(version=3, checked_version=2)
    with pytest.raises(ReviewRefused) as refused:
        post_approve(post=post, by=reviewer)
    assert refused.value.code == "checks_stale"
    assert "v2" in refused.value.message and "v3" in refused.value.message
    post.refresh_from_db()
    assert post.status == Post.Status.PENDING_REVIEW


def test_approve_refuses_a_post_whose_checks_never_ran(reviewer: User) -> None:
    post = _post(checked_version=None)
    with pytest.raises(ReviewRefused) as refused:
        post_approve(post=post, by=reviewer)
    assert refused.value.code == "checks_not_run"


def test_schedule_refuses_an_approved_post_whose_checks_are_stale(reviewer: User) -> None:
    post = _post(status=Post.Status.APPROVED, approved_at=timezone.now(), version=2, checked_version=1)
    with pytest.raises(ReviewRefused):
        post_schedule(post=post, by=reviewer, at=timezone.now() + dt.timedelta(hours=2))
    post.refresh_from_db()
    assert post.status == Post.Status.APPROVED


def test_an_edit_stores_findings_of_the_new_version(writer: User) -> None:
    post = _draft()
    edited = _edit(post, writer, "今天收盤104元。保證獲利，想跟單的私訊我")
    assert edited.checked_version == edited.version == 2


def test_any_text_since_generation_counts_not_only_the_last_edit(writer: User, reviewer: User) -> None:
    other = User.objects.create_user("r2", is_staff=True)
    other.groups.add(Group.objects.get(name=REVIEWER))
    post = _draft()
    post = _edit(post, reviewer, "今天收盤104元，漲。")
    post = _edit(post, writer, "今天收盤104元，漲。。")
    Post.objects.filter(pk=post.pk).update(checked_version=post.version)
    assert editors_since_approval(post) == {reviewer.pk, writer.pk}
    with pytest.raises(ReviewRefused) as refused:
        post_approve(post=post, by=reviewer)
    assert refused.value.code == "self_approval"
    # The refusal says who else may approve (not the editors) and how a one-person team proceeds.
    assert "r2" in refused.value.message and "writer" not in refused.value.message
    assert "REVIEW_ALLOW_SELF_APPROVAL" in refused.value.message
    post_approve(post=post, by=other)


def test_after_an_approval_only_later_text_counts(writer: User, reviewer: User) -> None:
    post = _draft()
    post = _edit(post, reviewer, "今天收盤104元，漲。")
    Post.objects.filter(pk=post.pk).update(checked_version=post.version)
    post = post_approve(post=post, by=User.objects.create_superuser("boss"))
    post = _edit(post, writer, "今天收盤104元，漲了。")  # back to review
    Post.objects.filter(pk=post.pk).update(checked_version=post.version)
    assert editors_since_approval(post) == {writer.pk}
    assert post_approve(post=post, by=reviewer).status == Post.Status.APPROVED


def test_a_one_person_team_may_approve_its_own_text(reviewer: User, settings: Any) -> None:
    settings.REVIEW_ALLOW_SELF_APPROVAL = True
    post = _edit(_draft(), reviewer, "今天收盤104元，漲。")
    assert approval_refusal(post=post, user=reviewer) is None
    assert post_approve(post=post, by=reviewer).status == Post.Status.APPROVED


def test_the_page_and_the_service_give_the_same_reason(reviewer: User) -> None:
    post = _post(check_findings=[{"code": "guaranteed_return", "severity": "block"}])
    refusal = approval_refusal(post=post, user=reviewer)
    assert refusal is not None and refusal.code == "blocking_findings"
    with pytest.raises(ReviewRefused) as refused:
        post_approve(post=post, by=reviewer)
    assert refused.value.message == refusal.message


def test_a_too_high_version_names_no_blank_person_or_time(reviewer: User) -> None:
    post = _post()
    with pytest.raises(EditConflict) as conflict:
        post_approve(post=post, by=reviewer, expected_version=99)
    assert "no version 99" in conflict.value.message and "v1" in conflict.value.message
    with pytest.raises(EditConflict) as conflict:
        post_update_text(post=post, by=reviewer, title="t", body="b", expected_version=99)
    assert "no version 99" in conflict.value.message
    assert "someone" not in conflict.value.message


def test_a_second_approval_hears_who_approved_first(reviewer: User) -> None:
    post = _post()
    post_approve(post=post, by=reviewer)
    other = User.objects.create_superuser("boss")
    with pytest.raises(Exception, match="Already approved by reviewer") as refused:
        post_approve(post=post, by=other)
    assert getattr(refused.value, "status_code", None) == 409


def test_the_send_re_checks_under_its_claim_that_the_findings_cover_the_text(
    settings: Any,
    platform: Any,  # noqa: F811
) -> None:
    configure(settings, platform)
    post = approved_post(dry_run=True)
    publication = publication_publish_now(post=post, by=EDITOR)
    # The findings stop covering the text between the publish request and the send.
    Post.objects.filter(pk=post.pk).update(checked_version=None)
    result = publication_send(publication_id=publication.pk)
    assert result.status == PS.CANCELLED and "checks" in result.detail
    post.refresh_from_db()
    assert post.status != Post.Status.PUBLISHED


def test_the_post_page_disables_approve_and_says_why(client: Any, writer: User, reviewer: User) -> None:
    post = _edit(_draft(), reviewer, "今天收盤104元，漲。")
    client.force_login(reviewer)
    page = client.get(f"/admin/posting/post/{post.pk}/change/").content.decode()
    assert 'id="approve-button" type="submit"\n    disabled' in page
    assert 'id="approve-refusal" data-code="self_approval"' in page
    client.force_login(User.objects.create_superuser("boss"))
    page = client.get(f"/admin/posting/post/{post.pk}/change/").content.decode()
    assert 'id="approve-button"' in page and "approve-refusal" not in page


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("看好\u202e台積電", "U+202E"),
        ("看好\x07台積電", "U+0007"),
        ("看好\x85台積電", "U+0085"),
        ("看好\ufdd0台積電", "U+FDD0"),
        ("看好\U0001fffe台積電", "U+1FFFE"),
        ("看好\u2066台積電\u2069", "U+2066"),
    ],
)
def test_post_text_refuses_bidi_controls_and_noncharacters_naming_them(
    writer: User, body: str, named: str
) -> None:
    post = _draft()
    with pytest.raises(ServiceError) as refused:
        post_update_text(post=post, by=writer, title=post.title, body=body, expected_version=1)
    assert named in refused.value.message and named in refused.value.fields["body"][0]
    post.refresh_from_db()
    assert post.version == 1


def test_post_text_keeps_newlines_and_tabs(writer: User) -> None:
    post = _draft()
    result = post_update_text(
        post=post, by=writer, title=post.title, body="第一行\r\n\t第二行", expected_version=1
    )
    assert result.post.body == "第一行\n\t第二行"


def test_text_over_the_limits_is_refused_with_the_count(writer: User, reviewer: User, settings: Any) -> None:
    settings.POST_BODY_MAX_CHARS = 100
    settings.REVIEW_NOTE_MAX_CHARS = 50
    post = _draft()
    with pytest.raises(ServiceError) as refused:
        post_update_text(post=post, by=writer, title=post.title, body="字" * 101, expected_version=1)
    assert "100" in refused.value.fields["body"][0] and "101" in refused.value.fields["body"][0]
    with pytest.raises(ServiceError) as refused:
        post_request_changes(post=post, by=reviewer, note="理" * 51)
    assert "note" in refused.value.fields


def test_the_api_refuses_a_bidi_override_in_the_body_as_a_400(api_as: Any, writer: User) -> None:
    post = _draft()
    answer = api_as(writer).patch(
        f"/api/posts/{post.pk}/", {"title": post.title, "body": "看好\u202e", "version": 1}, format="json"
    )
    assert answer.status_code == 400 and "U+202E" in answer.json()["error"]["fields"]["body"][0]


def test_scheduling_over_the_api_refuses_a_time_without_a_time_zone(api_as: Any, reviewer: User) -> None:
    post = _post(status=Post.Status.APPROVED, approved_at=timezone.now(), approved_version=1)
    answer = api_as(reviewer).post(
        f"/api/posts/{post.pk}/schedule/", {"at": "2100-01-01T08:30"}, format="json"
    )
    assert answer.status_code == 400 and "time zone" in answer.json()["error"]["fields"]["at"][0]
    answer = api_as(reviewer).post(
        f"/api/posts/{post.pk}/schedule/", {"at": "2100-01-01T08:30+08:00"}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["status"] == "scheduled"
