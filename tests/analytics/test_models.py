from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from analytics.models import InteractionSnapshot
from tests.factories import InteractionSnapshotFactory

pytestmark = pytest.mark.django_db


def test_one_snapshot_per_post_and_moment() -> None:
    first = InteractionSnapshotFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        InteractionSnapshotFactory(post=first.post, captured_at=first.captured_at)


def test_snapshots_accumulate_history_instead_of_overwriting() -> None:
    first = InteractionSnapshotFactory(likes=1)
    InteractionSnapshotFactory(post=first.post, likes=5)
    assert list(
        InteractionSnapshot.objects.filter(post=first.post)
        .order_by("captured_at")
        .values_list("likes", flat=True)
    ) == [1, 5]


def test_a_metric_the_platform_lacks_stays_empty_not_zero() -> None:
    snapshot = InteractionSnapshotFactory(views=None, shares=None)
    snapshot.refresh_from_db()
    assert snapshot.views is None and snapshot.shares is None
