from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from config.exceptions import ServiceError
from posting.lifecycle import transitions
from posting.lifecycle.table import TRANSITIONS, Action
from posting.lifecycle.transitions import (
    Actor,
    EditConflict,
    NotPermitted,
    ReviewRefused,
    TransitionNotAllowed,
)
from posting.models import Approval, AuditEvent, Post, PostRevision
from posting.review import services
from posting.review.services import (
    post_approve,
    post_create_draft,
    post_reject,
    post_request_changes,
    post_schedule,
    post_submit,
    post_unschedule,
)
from posting.review.stale import posts_handle_stale
from tests.factories import DailyQuoteFactory, KOLFactory, PostFactory, StockFactory

pytestmark = pytest.mark.django_db

ALL_STATES = [value for value, _label in Post.Status.choices]
FUTURE = dt.timedelta(hours=3)


def _post_in(status: str, **fields: Any) -> Any:
    now = timezone.now()
    extra: dict[str, Any] = {}
    if status in Post.APPROVED_STATES:
        extra["approved_at"] = now
    if status == Post.Status.SCHEDULED:
        extra["scheduled_at"] = now + FUTURE
    if status == Post.Status.PUBLISHED:
        extra["published_at"] = now
    return PostFactory(status=status, **extra, **fields)


def _run(action: str, post: Post, by: Any) -> Post:
    """Call the service for ``action`` the way the admin and API do."""
    calls = {
        Action.SUBMIT: lambda: post_submit(post=post, by=by),
        Action.APPROVE: lambda: post_approve(post=post, by=by),
        Action.REJECT: lambda: post_reject(post=post, by=by, reason="與事實不符"),
        Action.REQUEST_CHANGES: lambda: post_request_changes(post=post, by=by, note="請補充成交量"),
        Action.SCHEDULE: lambda: post_schedule(post=post, by=by, at=timezone.now() + FUTURE),
        Action.UNSCHEDULE: lambda: post_unschedule(post=post, by=by),
        Action.EXPIRE: lambda: services.post_expire(post=post, reason="too old"),
    }
    return calls[action]()


PERSON_ACTIONS = [
    Action.SUBMIT,
    Action.APPROVE,
    Action.REJECT,
    Action.REQUEST_CHANGES,
    Action.SCHEDULE,
    Action.UNSCHEDULE,
    Action.EXPIRE,
]


@pytest.mark.parametrize("action", PERSON_ACTIONS)
@pytest.mark.parametrize("status", ALL_STATES)
def test_every_transition_is_allowed_exactly_from_its_sources(
    action: str, status: str, reviewer: User
) -> None:
    post = _post_in(status)
    transition = TRANSITIONS[action]
    if status in transition.sources:
        result = _run(action, post, reviewer)
        assert result.status == transition.target
        event = AuditEvent.objects.get(post=post, action=action)
        assert (event.from_status, event.to_status) == (status, transition.target)
    else:
        with pytest.raises(TransitionNotAllowed):
            _run(action, post, reviewer)
        post.refresh_from_db()
        assert post.status == status
        assert not AuditEvent.objects.filter(post=post).exists()


def test_approval_records_who_when_which_version_and_a_number(reviewer: User) -> None:
    post = _post_in(Post.Status.PENDING_REVIEW)
    post_approve(post=post, by=reviewer, note="數字都對")
    post.refresh_from_db()
    assert post.status == Post.Status.APPROVED
    assert post.approved_by == reviewer and post.approved_at is not None
    assert post.approved_version == post.version
    approval = Approval.objects.get(post=post)
    event = AuditEvent.objects.get(post=post, action=Action.APPROVE)
    assert event.approval == approval and event.actor == reviewer and event.note == "數字都對"
    assert approval.number == f"APR-{approval.pk:06d}"


def test_a_writer_cannot_approve_reject_or_schedule(writer: User) -> None:
    for action in (Action.APPROVE, Action.REJECT, Action.SCHEDULE):
        post = _post_in(Post.Status.PENDING_REVIEW if action != Action.SCHEDULE else Post.Status.APPROVED)
        with pytest.raises(NotPermitted):
            _run(action, post, writer)
        post.refresh_from_db()
        assert post.status in (Post.Status.PENDING_REVIEW, Post.Status.APPROVED)


def test_whoever_last_changed_the_text_cannot_approve_it(reviewer: User) -> None:
    post = _post_in(Post.Status.PENDING_REVIEW, text_edited_by=reviewer)
    with pytest.raises(ReviewRefused) as refused:
        post_approve(post=post, by=reviewer)
    assert refused.value.code == "self_approval"


def test_a_setting_allows_self_approval_for_one_person_teams(reviewer: User, settings: Any) -> None:
    settings.REVIEW_ALLOW_SELF_APPROVAL = True
    post = _post_in(Post.Status.PENDING_REVIEW, text_edited_by=reviewer)
    assert post_approve(post=post, by=reviewer).status == Post.Status.APPROVED


def test_a_post_with_a_blocking_finding_cannot_be_approved(reviewer: User) -> None:
    finding = {"code": "guaranteed_return", "severity": "block", "excerpt": "穩賺不賠", "message": "保證獲利"}
    post = _post_in(Post.Status.PENDING_REVIEW, check_findings=[finding])
    with pytest.raises(ReviewRefused) as refused:
        post_approve(post=post, by=reviewer)
    assert refused.value.code == "blocking_findings"
    post.refresh_from_db()
    assert post.status == Post.Status.PENDING_REVIEW


def test_approving_a_version_that_changed_since_it_was_opened_is_refused(reviewer: User) -> None:
    post = _post_in(Post.Status.PENDING_REVIEW)
    seen = post.version
    Post.objects.filter(pk=post.pk).update(version=seen + 1, body="改過的內容")
    with pytest.raises(EditConflict):
        post_approve(post=post, by=reviewer, expected_version=seen)


def test_reject_and_request_changes_need_a_reason(reviewer: User) -> None:
    post = _post_in(Post.Status.PENDING_REVIEW)
    with pytest.raises(ServiceError) as error:
        post_reject(post=post, by=reviewer, reason="  ")
    assert "reason" in error.value.fields
    with pytest.raises(ServiceError) as error:
        post_request_changes(post=post, by=reviewer, note="")
    assert "note" in error.value.fields


def test_rejection_keeps_its_reason_on_the_post(reviewer: User) -> None:
    post = post_reject(post=_post_in(Post.Status.PENDING_REVIEW), by=reviewer, reason="重複的內容")
    assert post.status_note == "重複的內容"


def test_scheduling_needs_an_aware_future_time(reviewer: User) -> None:
    post = _post_in(Post.Status.APPROVED)
    with pytest.raises(ServiceError):
        post_schedule(post=post, by=reviewer, at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(ServiceError):
        post_schedule(post=post, by=reviewer, at=dt.datetime(2030, 1, 1, 9, 0))
    assert post_schedule(post=post, by=reviewer, at=timezone.now() + FUTURE).scheduled_at is not None


def test_a_system_actor_is_recorded_by_its_label() -> None:
    post = _post_in(Post.Status.PENDING_REVIEW)
    post_approve(post=post, by=Actor(label="schedule:7"))
    event = AuditEvent.objects.get(post=post, action=Action.APPROVE)
    assert event.actor is None and event.who == "schedule:7"
    assert Approval.objects.get(post=post).approved_by_label == "schedule:7"


def test_create_draft_keeps_the_generated_original_as_revision_one() -> None:
    post = post_create_draft(kol=KOLFactory(), stock=StockFactory(), title="原始標題", body="原始內文")
    revision = PostRevision.objects.get(post=post)
    assert (revision.version, revision.title, revision.source) == (
        1,
        "原始標題",
        PostRevision.Source.GENERATED,
    )
    assert post.status == Post.Status.PENDING_REVIEW


@pytest.mark.parametrize("status", ["approved", "scheduled", "published"])
def test_generation_can_never_create_an_approved_or_published_post(status: str) -> None:
    with pytest.raises(ServiceError):
        post_create_draft(kol=KOLFactory(), title="t", body="b", status=status)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_at_once_exactly_one_wins() -> None:
    from django.contrib.auth.models import Group

    first = User.objects.create_user("r1")
    second = User.objects.create_user("r2")
    for user in (first, second):
        user.groups.add(Group.objects.get(name="Reviewer"))
    post = _post_in(Post.Status.PENDING_REVIEW)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(user: User) -> None:
        try:
            barrier.wait()
            post_approve(post=Post.objects.get(pk=post.pk), by=User.objects.get(pk=user.pk))
            outcomes.append("won")
        except (TransitionNotAllowed, EditConflict):
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["lost", "won"]
    assert Approval.objects.filter(post=post).count() == 1
    assert AuditEvent.objects.filter(post=post, action=Action.APPROVE).count() == 1


class TestStaleDrafts:
    def test_a_draft_waiting_past_the_limit_expires_and_is_kept(self, settings: Any) -> None:
        settings.REVIEW_STALE_AFTER_HOURS = 24
        with time_machine.travel(timezone.now() - dt.timedelta(hours=30)):
            old = _post_in(Post.Status.PENDING_REVIEW)
        fresh = _post_in(Post.Status.PENDING_REVIEW)
        result = posts_handle_stale()
        assert result.expired == 1
        old.refresh_from_db()
        fresh.refresh_from_db()
        assert old.status == Post.Status.EXPIRED and "30" in old.status_note
        assert fresh.status == Post.Status.PENDING_REVIEW
        assert Post.objects.filter(pk=old.pk).exists()

    def test_a_draft_whose_stock_moved_past_the_limit_is_stale(self, settings: Any) -> None:
        settings.REVIEW_STALE_MOVE_PCT = 5.0
        stock = StockFactory()
        DailyQuoteFactory(stock=stock, trade_date=dt.date(2026, 11, 20), close=Decimal("110.00"))
        moved = _post_in(
            Post.Status.PENDING_REVIEW, stock=stock, market_snapshot={"latest": {"close": "100.00"}}
        )
        steady = _post_in(
            Post.Status.PENDING_REVIEW, stock=stock, market_snapshot={"latest": {"close": "108.00"}}
        )
        posts_handle_stale()
        assert Post.objects.get(pk=moved.pk).status == Post.Status.EXPIRED
        assert Post.objects.get(pk=steady.pk).status == Post.Status.PENDING_REVIEW

    def test_with_expiry_off_stale_drafts_are_only_flagged(self, settings: Any) -> None:
        settings.REVIEW_EXPIRE_STALE = False
        settings.REVIEW_STALE_AFTER_HOURS = 1
        with time_machine.travel(timezone.now() - dt.timedelta(hours=2)):
            old = _post_in(Post.Status.DRAFT)
        assert posts_handle_stale().flagged == 1
        old.refresh_from_db()
        assert old.status == Post.Status.DRAFT and old.stale_reason

    def test_approved_posts_are_never_expired(self, settings: Any) -> None:
        settings.REVIEW_STALE_AFTER_HOURS = 1
        with time_machine.travel(timezone.now() - dt.timedelta(hours=5)):
            approved = _post_in(Post.Status.APPROVED)
        posts_handle_stale()
        assert Post.objects.get(pk=approved.pk).status == Post.Status.APPROVED


@pytest.mark.parametrize("status", ALL_STATES)
def test_unpublish_is_allowed_only_from_published(status: str, administrator: User) -> None:
    post = _post_in(status)
    if status == Post.Status.PUBLISHED:
        result = transitions.post_unpublish(post=post, by=administrator, note="deleted on the platform")
        assert result.status == Post.Status.UNPUBLISHED
        event = AuditEvent.objects.get(post=post, action=Action.UNPUBLISH)
        assert (event.from_status, event.to_status, event.actor) == (status, "unpublished", administrator)
    else:
        with pytest.raises(TransitionNotAllowed):
            transitions.post_unpublish(post=post, by=administrator, note="deleted on the platform")
        assert Post.objects.get(pk=post.pk).status == status


def test_unpublish_needs_the_publish_permission(reviewer: User) -> None:
    post = _post_in(Post.Status.PUBLISHED)
    with pytest.raises(NotPermitted):
        transitions.post_unpublish(post=post, by=reviewer, note="deleted on the platform")
    assert Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHED
