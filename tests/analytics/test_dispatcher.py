"""The snapshot dispatcher: due slots across slot boundaries, once per (post, slot), late slots, threads."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import httpx
import pytest
import respx
import time_machine
from django.db import connection
from django.utils import timezone

from analytics.collection import snapshots_collect, snapshots_dispatch, snapshots_plan
from analytics.models import InteractionSnapshot, SnapshotClaim
from posting.models import Backend, Post
from tests.analytics.support import FORUM, IDENTITY, TOKEN, article, cmoney_settings, published_post

START = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)  # 09:00 Asia/Taipei


@pytest.fixture(autouse=True)
def _cmoney(settings: Any) -> None:
    cmoney_settings(settings)


def _platform() -> respx.MockRouter:
    router = respx.mock(assert_all_called=False)
    router.post(f"{IDENTITY}/identity/token").respond(200, json=TOKEN)
    router.get(url__regex=rf"{FORUM}/api/Article/\d+").mock(
        side_effect=lambda request: httpx.Response(200, json=article())
    )
    return router


def _slots(post: Post) -> list[str]:
    return sorted(InteractionSnapshot.objects.filter(post=post).values_list("slot", flat=True))


@pytest.mark.django_db
def test_each_slot_is_planned_when_its_age_is_reached_and_collected_once_even_when_run_twice() -> None:
    with time_machine.travel(START, tick=False):
        post = published_post(at=timezone.now())
    with _platform():
        with time_machine.travel(START + dt.timedelta(minutes=59), tick=False):
            assert snapshots_plan() == 0
        with time_machine.travel(START + dt.timedelta(hours=1, minutes=1), tick=False):
            assert snapshots_plan() == 1
            assert snapshots_plan() == 0  # a second beat in the same minute plans nothing
            snapshots_collect(budget_seconds=5)
            snapshots_collect(budget_seconds=5)
        assert _slots(post) == ["1h"]
        with time_machine.travel(START + dt.timedelta(hours=5, minutes=59), tick=False):
            snapshots_plan()
            snapshots_collect(budget_seconds=5)
        assert _slots(post) == ["1h"]
        with time_machine.travel(START + dt.timedelta(hours=6, minutes=1), tick=False):
            snapshots_plan()
            snapshots_plan()
            snapshots_collect(budget_seconds=5)
        with time_machine.travel(START + dt.timedelta(hours=24, minutes=2), tick=False):
            snapshots_plan()
            snapshots_collect(budget_seconds=5)
            snapshots_collect(budget_seconds=5)
    assert _slots(post) == ["1h", "24h", "6h"]
    snapshot = InteractionSnapshot.objects.get(post=post, slot="24h")
    assert snapshot.age_seconds == 24 * 3600 + 120 and snapshot.late is False
    assert snapshot.source == InteractionSnapshot.Source.SCHEDULED


@pytest.mark.django_db
def test_after_downtime_a_late_slot_is_collected_with_its_real_age_and_flagged() -> None:
    with time_machine.travel(START, tick=False):
        post = published_post(at=timezone.now())
    with _platform(), time_machine.travel(START + dt.timedelta(hours=30)):
        assert snapshots_plan() == 3  # 1h, 6h and 24h all fell due while nothing ran
        snapshots_collect(budget_seconds=5)
    late = InteractionSnapshot.objects.get(post=post, slot="24h")
    assert late.late is True and 30 * 3600 <= (late.age_seconds or 0) < 30 * 3600 + 60
    assert InteractionSnapshot.objects.filter(post=post).count() == 3  # nothing interpolated in between
    post.refresh_from_db()
    assert post.score_24h is not None and post.score_24h_late is True


@pytest.mark.django_db
def test_a_dry_run_publication_has_no_snapshots_planned() -> None:
    with time_machine.travel(START, tick=False):
        published_post(at=timezone.now(), backend=Backend.DRY_RUN)
    with time_machine.travel(START + dt.timedelta(days=2), tick=False):
        assert snapshots_plan() == 0


@pytest.mark.django_db
def test_the_dispatcher_starts_collectors_only_when_something_is_due(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.INTERACTION_COLLECT_WORKERS = 3
    with time_machine.travel(START, tick=False):
        published_post(at=timezone.now())
        with django_capture_on_commit_callbacks() as callbacks:
            assert snapshots_dispatch().workers == 0
        assert callbacks == []
    with (
        time_machine.travel(START + dt.timedelta(hours=2), tick=False),
        django_capture_on_commit_callbacks() as callbacks,
    ):
        result = snapshots_dispatch()
    assert (result.planned, result.workers, len(callbacks)) == (1, 3, 3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_and_collectors_in_parallel_threads_take_one_snapshot_per_slot() -> None:
    with time_machine.travel(START, tick=False):
        posts = [published_post(at=timezone.now()) for _ in range(12)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            snapshots_plan()
            snapshots_collect(budget_seconds=20)
            snapshots_plan()
            snapshots_collect(budget_seconds=20)
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)
        finally:
            connection.close()

    with _platform(), time_machine.travel(START + dt.timedelta(hours=25)):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert SnapshotClaim.objects.count() == 12 * 3
    assert InteractionSnapshot.objects.count() == 12 * 3
    for post in posts:
        assert _slots(post) == ["1h", "24h", "6h"]
