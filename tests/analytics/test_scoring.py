"""Score formula versions: a new or re-activated version recomputes every stored score in the background
(set-based UPDATEs by id range), stops when another version takes over, and is finished by the daily job
when the queued task never ran."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from analytics import scoring
from analytics.analysis.services import analyses_refresh
from analytics.clients import Counts
from analytics.collection import snapshot_record
from analytics.features import post_features_refresh
from analytics.models import InteractionSnapshot, PostFeatures, ScoreFormula
from analytics.scoring import (
    FORMULA_HELD_SECONDS,
    RECOMPUTE_TASK,
    formula_active,
    score_formula_activate,
    score_formula_create,
    score_of,
    scores_recompute,
    scores_recompute_pending,
)
from analytics.tasks import recompute_scores
from config.celery import app
from posting.models import Post
from tests.analytics.support import published_post
from tests.conftest import CeleryWorker

pytestmark = pytest.mark.django_db

COMMENTS_COUNT_MORE = {
    "likes": Decimal("1"),
    "comments": Decimal("3"),
    "shares": Decimal("2.5"),
    "saves": Decimal("2"),
    "tips": Decimal("0.75"),
}


def _settled() -> Any:
    """Past the time a collector loop may still hold the previous version."""
    return time_machine.travel(timezone.now() + dt.timedelta(seconds=FORMULA_HELD_SECONDS + 1), tick=False)


def _after(post: Post, hours: int) -> dt.datetime:
    assert post.published_at is not None
    return post.published_at + dt.timedelta(hours=hours)


def _snapshots(post: Post, readings: list[tuple[int, Counts, str]]) -> list[InteractionSnapshot]:
    return [
        snapshot_record(
            post=post,
            counts=counts,
            captured_at=_after(post, hours),
            source=InteractionSnapshot.Source.MANUAL,
            slot=slot,
        )
        for hours, counts, slot in readings
    ]


def _late_collector_records_24h(post: Post, held: ScoreFormula) -> None:
    """A collector loop that read the formula (``held``) before the switch writes the 24 h snapshot
    after it: 10 likes and 10 comments."""
    snapshot_record(
        post=post,
        counts=Counts(likes=10, comments=10),
        captured_at=_after(post, 24),
        source=InteractionSnapshot.Source.MANUAL,
        slot="24h",
        formula=held,
    )


def _post_with_series() -> Post:
    post = published_post(at=timezone.now() - dt.timedelta(days=3))
    _snapshots(
        post,
        [
            (1, Counts(likes=3, comments=1), "1h"),
            (24, Counts(likes=48, comments=24, shares=None, saves=2, tips=3), "24h"),
            (30, Counts(likes=50, comments=25, shares=4), ""),
        ],
    )
    return post


def test_a_new_version_is_active_at_once_and_its_recompute_is_queued_not_run_in_the_request(
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = _post_with_series()
    post.refresh_from_db()
    assert post.score_24h == Decimal("88.00")  # 48 + 24 × 1.5 + 2 × 2 + 3 × 0

    with django_capture_on_commit_callbacks(execute=False) as queued:
        formula = score_formula_create(weights=COMMENTS_COUNT_MORE)

    assert len(queued) == 1
    assert (formula.version, formula.is_active, formula.rescored_at) == (2, True, None)
    post.refresh_from_db()
    assert (post.score_24h, post.score_formula_version) == (Decimal("88.00"), 1)


def test_the_recompute_gives_every_snapshot_and_post_the_score_the_formula_gives_in_python() -> None:
    post = _post_with_series()
    other = _post_with_series()
    formula = score_formula_create(weights=COMMENTS_COUNT_MORE)

    rescored = scores_recompute(formula=formula)

    assert rescored == 6
    for snapshot in InteractionSnapshot.objects.all():
        assert snapshot.score == score_of(formula=formula, counts=snapshot), snapshot.slot
        assert snapshot.score_formula_version == 2
    for each in (post, other):
        each.refresh_from_db()
        # 48 + 24 × 3 + 2 × 2 + 3 × 0.75, shares empty: nothing added.
        assert (each.score_24h, each.score_formula_version) == (Decimal("126.25"), 2)
        assert each.score_24h_late is False
    formula.refresh_from_db()
    assert formula.rescored_at is None  # a collector may still hold version 1
    with _settled():
        assert scores_recompute(formula=formula) == 0
    formula.refresh_from_db()
    assert formula.rescored_at is not None


def test_the_recompute_gives_the_feature_rows_the_new_score_so_the_daily_refresh_rebuilds_none() -> None:
    post = _post_with_series()
    assert post_features_refresh() == 1
    formula = score_formula_create(weights=COMMENTS_COUNT_MORE)

    scores_recompute(formula=formula)

    assert PostFeatures.objects.get(post=post).score == 126.25
    assert post_features_refresh() == 0


def test_the_recompute_walks_the_table_in_chunks_and_a_second_run_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scoring, "_CHUNK", 2)
    posts = [_post_with_series() for _ in range(3)]
    formula = score_formula_create(weights=COMMENTS_COUNT_MORE)

    assert scores_recompute(formula=formula) == 9
    assert scores_recompute(formula=formula) == 0
    assert set(InteractionSnapshot.objects.values_list("score_formula_version", flat=True)) == {2}
    assert {Post.objects.get(pk=post.pk).score_24h for post in posts} == {Decimal("126.25")}


def test_a_recompute_for_a_version_no_longer_active_stops_and_leaves_the_scores_alone() -> None:
    post = _post_with_series()
    first = formula_active()
    second = score_formula_create(weights=COMMENTS_COUNT_MORE)
    score_formula_activate(formula=first)  # changed their mind before the worker got to it

    assert recompute_scores(second.pk) == {"rescored": 0}

    post.refresh_from_db()
    assert (post.score_24h, post.score_formula_version) == (Decimal("88.00"), 1)
    second.refresh_from_db()
    assert second.rescored_at is None
    # The re-activated version's own recompute finds every score already its own and says so.
    with _settled():
        assert recompute_scores(first.pk) == {"rescored": 0}
    first.refresh_from_db()
    assert first.rescored_at is not None


def test_a_snapshot_scored_with_the_old_version_after_the_switch_is_caught_by_the_daily_job() -> None:
    post = published_post(at=timezone.now() - dt.timedelta(days=2))
    old = formula_active()
    new = score_formula_create(weights=COMMENTS_COUNT_MORE)
    # A collector that read the formula before the switch writes its snapshot after it.
    _late_collector_records_24h(post, old)

    with _settled():
        outcome = analyses_refresh()

    assert outcome["rescored"] == 1
    snapshot = InteractionSnapshot.objects.get()
    assert (snapshot.score, snapshot.score_formula_version) == (Decimal("40.00"), 2)
    post.refresh_from_db()
    assert (post.score_24h, post.score_formula_version) == (Decimal("40.00"), 2)
    new.refresh_from_db()
    assert new.rescored_at is not None
    assert scores_recompute_pending() == 0


def test_with_no_snapshots_the_recompute_marks_the_version_done_once_collectors_let_go() -> None:
    formula = score_formula_create(weights=COMMENTS_COUNT_MORE)
    with _settled():
        assert scores_recompute(formula=formula) == 0
    formula.refresh_from_db()
    assert formula.rescored_at is not None


def test_a_collector_still_holding_the_old_version_after_the_first_run_is_caught_by_the_follow_up(
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = published_post(at=timezone.now() - dt.timedelta(days=2))
    old = formula_active()
    new = score_formula_create(weights=COMMENTS_COUNT_MORE)

    # The queued task runs at once: nothing to rescore yet, too early to call the version done, so it
    # queues itself for after FORMULA_HELD_SECONDS.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert recompute_scores(new.pk) == {"rescored": 0}
    assert len(queued) == 1
    new.refresh_from_db()
    assert new.rescored_at is None
    # Meanwhile a collector loop that read the formula before the switch records the 24 h snapshot.
    _late_collector_records_24h(post, old)

    with _settled(), django_capture_on_commit_callbacks(execute=False) as queued_again:
        assert recompute_scores(new.pk) == {"rescored": 1}

    assert queued_again == []
    post.refresh_from_db()
    assert (post.score_24h, post.score_formula_version) == (Decimal("40.00"), 2)
    new.refresh_from_db()
    assert new.rescored_at is not None


@pytest.fixture
def worker_queue(celery_worker: CeleryWorker) -> Iterator[CeleryWorker]:
    """Tasks this process queues go to the worker's private queue."""
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = celery_worker.queue
    yield celery_worker
    app.conf.task_default_queue = previous


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
def test_a_real_worker_recomputes_the_scores_after_the_version_is_committed(
    worker_queue: CeleryWorker,
) -> None:
    post = _post_with_series()

    formula = score_formula_create(weights=COMMENTS_COUNT_MORE)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        post.refresh_from_db()
        if post.score_formula_version == formula.version:
            break
        time.sleep(0.2)
    assert post.score_24h == Decimal("126.25"), worker_queue.log.read_text()[-2000:]
    assert set(InteractionSnapshot.objects.values_list("score_formula_version", flat=True)) == {2}
    assert RECOMPUTE_TASK in worker_queue.log.read_text()
