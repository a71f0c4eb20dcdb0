from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from posting.models import GenerationBatch, Post
from tests.factories import GenerationBatchFactory, PostFactory

pytestmark = pytest.mark.django_db


def _refused(factory: type, **fields: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(**fields)


@pytest.mark.parametrize("status", ["approved", "scheduled", "publishing", "published"])
def test_an_approved_state_needs_an_approval_time(status: str) -> None:
    _refused(PostFactory, status=status, scheduled_at=timezone.now(), published_at=timezone.now())


def test_a_scheduled_post_needs_its_time() -> None:
    _refused(PostFactory, status=Post.Status.SCHEDULED, approved_at=timezone.now(), scheduled_at=None)


def test_a_published_post_needs_its_publication_time() -> None:
    _refused(PostFactory, status=Post.Status.PUBLISHED, approved_at=timezone.now(), published_at=None)


def test_one_platform_article_belongs_to_one_post_only() -> None:
    now = timezone.now()
    PostFactory(status=Post.Status.PUBLISHED, approved_at=now, published_at=now, platform_post_id="A1")
    _refused(
        PostFactory, status=Post.Status.PUBLISHED, approved_at=now, published_at=now, platform_post_id="A1"
    )
    # Unpublished posts all have an empty platform id: that is not a collision.
    PostFactory.create_batch(2, platform_post_id="")
    assert Post.objects.filter(platform_post_id="").count() == 2


@pytest.mark.parametrize("field", ["quality_score", "machine_text_score"])
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_scores_stay_between_0_and_1(field: str, value: float) -> None:
    _refused(PostFactory, **{field: value})


def test_unknown_status_and_risk_are_refused() -> None:
    _refused(PostFactory, status="live")
    _refused(PostFactory, risk_level="extreme")


def test_a_batch_cannot_report_more_outcomes_than_it_requested() -> None:
    _refused(GenerationBatchFactory, requested_count=2, succeeded_count=2, failed_count=1)
    ok = GenerationBatchFactory(requested_count=3, succeeded_count=2, failed_count=1)
    assert ok.status == GenerationBatch.Status.QUEUED


def test_a_batch_cannot_finish_before_it_started() -> None:
    _refused(GenerationBatchFactory, finished_at=timezone.now(), started_at=None)


def test_a_kol_with_posts_cannot_be_deleted() -> None:
    from django.db.models import ProtectedError

    post = PostFactory()
    with pytest.raises(ProtectedError):
        post.kol.delete()
