"""Fault tests: a real Celery worker, real Redis, real PostgreSQL and a local fake CMoney.

The worker is a `celery worker` subprocess on a private queue (tests/conftest.py CeleryWorker) reading
the test database; the fake platform runs in this process (tests/posting/fake_platform.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from config.celery import app
from kols.crypto import Secret
from kols.models import PlatformAccount
from posting.lifecycle.transitions import Actor
from posting.models import Post, Publication
from posting.models import PublicationStatus as S
from posting.publishing.dispatch import publications_sweep, stale_sending_after
from posting.publishing.outbox import publication_publish_now
from posting.review.services import (
    post_approve,
    post_create_draft,
    post_reject,
    post_run_checks,
    post_schedule,
)
from posting.tasks import dispatch_publications, publish_publication, sweep_publications
from tests.conftest import ON_POSTGRES, ON_REDIS, CeleryWorker, child_env, database_url_for_subprocess
from tests.factories import KOLFactory, PlatformAccountFactory, StockFactory
from tests.posting.fake_platform import Answer, FakePlatform

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

EDITOR = Actor(label="fault-test")
KILL_REPETITIONS = 20


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


def publishing_env(platform: FakePlatform, **extra: str) -> dict[str, str]:
    return {
        "CMONEY_IDENTITY_BASE_URL": platform.url,
        "CMONEY_FORUM_BASE_URL": platform.url,
        "CMONEY_TIMEOUT_SECONDS": "3",
        "PUBLISH_MIN_GAP_SECONDS": "0",
        "PUBLISH_JITTER_SECONDS": "0",
        "PUBLISH_PLATFORM_RATE_PER_MINUTE": "6000",
        "PUBLISH_PLATFORM_BURST": "100",
        "PUBLISH_REQUEUE_GRACE_SECONDS": "2",
        "WORKER_HEARTBEAT_SECONDS": "1",
        **extra,
    }


@pytest.fixture(scope="module")
def platform() -> Iterator[FakePlatform]:
    server = FakePlatform().start()
    yield server
    server.stop()


def _worker(env: dict[str, str], log: Path) -> CeleryWorker:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = CeleryWorker(queue, {**env, "CELERY_TASK_DEFAULT_QUEUE": queue}, log)
    worker.start()
    return worker


@pytest.fixture(scope="module")
def worker(
    django_db_setup: None,
    django_db_blocker: Any,
    platform: FakePlatform,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CeleryWorker]:
    if not (ON_REDIS and ON_POSTGRES):
        pytest.skip("needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL (CI does)")
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = child_env(DATABASE_URL=database_url, **publishing_env(platform))
    started = _worker(env, tmp_path_factory.mktemp("worker") / "worker.log")
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def _setup(
    transactional_db: None, settings: Any, platform: FakePlatform, worker: CeleryWorker
) -> Iterator[None]:
    """Tasks this process queues go to the worker's queue; in-process services see the fake platform."""
    platform.reset()
    settings.CMONEY_IDENTITY_BASE_URL = settings.CMONEY_FORUM_BASE_URL = platform.url
    settings.PUBLISH_MIN_GAP_SECONDS = 0
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = worker.queue
    yield
    app.conf.task_default_queue = previous


def approved_post(title: str, **account: Any) -> Post:
    kol = KOLFactory(dry_run=False, max_posts_per_hour=50, max_posts_per_day=50)
    PlatformAccountFactory(kol=kol, **account)
    draft = post_create_draft(
        kol=kol,
        stock=StockFactory(code="2330", name="台積電"),
        title=title,
        body="今天收盤104元，投資有風險。",
    )
    return post_approve(post=post_run_checks(post=draft), by=EDITOR)


def status_of(publication: Publication) -> str:
    return Publication.objects.filter(pk=publication.pk).values_list("status", flat=True).get()


def task_done(worker: CeleryWorker, task_id: str) -> bool:
    return f"[{task_id}] succeeded" in worker.log.read_text(errors="replace")


def through_worker(worker: CeleryWorker, *tasks: Any) -> None:
    """Run tasks on the worker (as beat would) and wait until it has finished them."""
    ids = [task.apply_async(queue=worker.queue).id for task in tasks]
    wait_for(lambda: all(task_done(worker, task_id) for task_id in ids), what=f"tasks {ids}")


def _waiting_lock_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return bool(cursor.fetchone()[0])


# --- A worker killed mid-send -----------------------------------------------------------------------


def _kill_while_sending(
    worker: CeleryWorker, platform: FakePlatform, post: Post, after_answer: bool
) -> Publication:
    """Kill the worker after the platform created the article and before our outcome commits.

    ``after_answer`` False: while the platform holds its answer. True: after the platform answered 200,
    while the worker waits for a row lock this test holds, i.e. between the answer and our commit.
    """
    hold = threading.Event()
    platform.answer_next_creates(Answer(hold=hold))
    publication = publication_publish_now(post=post, by=EDITOR)
    wait_for(lambda: platform.articles_titled(post.title), what="the platform to receive the create")
    assert status_of(publication) == S.SENDING  # the claim committed before the request left
    if not after_answer:
        worker.kill()
        hold.set()
        return publication
    with transaction.atomic():
        Post.objects.select_for_update().get(pk=post.pk)
        hold.set()
        wait_for(_waiting_lock_exists, what="the worker to block on our row lock after the answer")
        worker.kill()
    return publication


def test_a_worker_killed_after_the_platform_received_the_create_never_makes_a_second_article(
    worker: CeleryWorker, platform: FakePlatform
) -> None:
    for repetition in range(KILL_REPETITIONS):
        post = approved_post(f"SIGKILL 第{repetition}次")
        publication = _kill_while_sending(worker, platform, post, after_answer=repetition % 2 == 1)
        assert status_of(publication) == S.SENDING  # nothing recorded after the claim: the worker died

        publications_sweep(now=timezone.now() + stale_sending_after() + dt.timedelta(seconds=1))
        assert status_of(publication) == S.UNKNOWN
        worker.start()
        # A redelivered message, and the dispatcher and sweeper on the restarted worker, send nothing.
        through_worker(worker, dispatch_publications, sweep_publications)
        redelivered = publish_publication.apply_async(args=(publication.pk,), queue=worker.queue).id
        wait_for(lambda task_id=redelivered: task_done(worker, task_id), what="the redelivered message")

        assert len(platform.articles_titled(post.title)) == 1, f"repetition {repetition}"
        assert status_of(publication) == S.UNKNOWN
        assert Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHING
    assert len(platform.articles) == KILL_REPETITIONS
    assert len(platform.create_requests) == KILL_REPETITIONS


# --- Platform behaviour through the worker ----------------------------------------------------------


def test_a_401_on_a_cached_token_gets_one_re_login_then_a_clear_failure(
    worker: CeleryWorker, platform: FakePlatform
) -> None:
    post = approved_post("401 測試")
    account = PlatformAccount.objects.get(kol=post.kol)
    account.access_token = Secret("token-issued-elsewhere")
    account.token_expires_at = timezone.now() + dt.timedelta(hours=1)
    account.save()
    platform.refuse_all_tokens = True
    publication = publication_publish_now(post=post, by=EDITOR)
    wait_for(lambda: status_of(publication) == S.FAILED_PERMANENT, what="the failure")

    assert len(platform.logins) == 1
    assert len(platform.create_requests) == 2 and platform.articles == []
    publication.refresh_from_db()
    assert "HTTP 401 even right after a fresh login" in publication.last_error
    attempts = list(publication.attempts.values_list("kind", "http_status"))
    assert attempts == [("create", 401), ("login", 200), ("create", 401)]
    assert Post.objects.get(pk=post.pk).status == Post.Status.FAILED


def test_a_429_is_retried_after_retry_after_and_publishes_once(
    worker: CeleryWorker, platform: FakePlatform
) -> None:
    platform.answer_next_creates(Answer(status=429, retry_after="2", creates=False))
    post = approved_post("429 測試")
    publication = publication_publish_now(post=post, by=EDITOR)
    wait_for(lambda: status_of(publication) == S.PUBLISHED, what="the retry to publish")

    first, second = platform.create_requests
    assert second["at"] - first["at"] >= 2.0
    assert len(platform.articles_titled(post.title)) == 1
    publication.refresh_from_db()
    assert list(publication.attempts.filter(kind="create").values_list("http_status", flat=True)) == [
        429,
        200,
    ]


def test_a_slow_success_within_the_timeout_is_published(worker: CeleryWorker, platform: FakePlatform) -> None:
    platform.answer_next_creates(Answer(delay=1.5))
    post = approved_post("慢回應")
    publication = publication_publish_now(post=post, by=EDITOR)
    wait_for(lambda: status_of(publication) == S.PUBLISHED, what="the slow success")
    assert Post.objects.get(pk=post.pk).platform_post_id == platform.articles_titled(post.title)[0].id


def test_a_success_answered_after_the_timeout_is_unknown_and_never_sent_twice(
    worker: CeleryWorker, platform: FakePlatform
) -> None:
    platform.answer_next_creates(Answer(delay=4.0))
    post = approved_post("成功但逾時")
    publication = publication_publish_now(post=post, by=EDITOR)
    wait_for(lambda: status_of(publication) == S.UNKNOWN, what="the timeout")
    redelivered = publish_publication.apply_async(args=(publication.pk,), queue=worker.queue)
    wait_for(lambda: task_done(worker, redelivered.id))
    through_worker(worker, dispatch_publications, sweep_publications)
    assert len(platform.create_requests) == 1 and len(platform.articles_titled(post.title)) == 1
    assert status_of(publication) == S.UNKNOWN


def test_a_scheduled_post_deleted_rejected_or_rescheduled_before_its_time_never_goes_out(
    worker: CeleryWorker, platform: FakePlatform
) -> None:
    at = timezone.now() + dt.timedelta(seconds=1)
    posts = {name: approved_post(name) for name in ("刪除", "退回", "改期", "照常")}
    for post in posts.values():
        post_schedule(post=post, by=EDITOR, at=at)
    posts["刪除"].delete()
    post_reject(post=posts["退回"], by=EDITOR, reason="不適合")
    post_schedule(post=posts["改期"], by=EDITOR, at=timezone.now() + dt.timedelta(hours=2))
    wait_for(lambda: timezone.now() > at, what="the old time")

    through_worker(worker, dispatch_publications)
    wait_for(
        lambda: Post.objects.get(pk=posts["照常"].pk).status == Post.Status.PUBLISHED, what="the control post"
    )
    through_worker(worker, sweep_publications)

    assert [article.title for article in platform.articles] == ["照常"]
    rejected = Publication.objects.get(post=posts["退回"])
    assert rejected.status == S.CANCELLED and rejected.note
    assert Publication.objects.get(post=posts["改期"]).status == S.PENDING
    assert not Publication.objects.filter(post_id=posts["刪除"].pk).exists()


# --- Redis restarted with posts waiting -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayRedis:
    """Our own redis-server on a free port, without persistence, so a restart loses everything."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), timeout=10, what="redis-server to start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def test_redis_restarted_with_posts_waiting_publishes_each_post_once(
    transactional_db: None, platform: FakePlatform, tmp_path: Path, settings: Any
) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on PATH to start a throwaway Redis")
    redis_server = ThrowawayRedis()
    redis_server.start()
    env = child_env(
        DATABASE_URL=database_url_for_subprocess(),
        REDIS_URL=redis_server.url,
        **publishing_env(platform, PUBLISH_MIN_GAP_SECONDS="2"),
    )
    own_worker = _worker(env, tmp_path / "worker.log")
    try:
        _publish_across_a_redis_restart(own_worker, redis_server, platform)
    finally:
        own_worker.stop()
        redis_server.kill()


def _publish_across_a_redis_restart(
    worker: CeleryWorker, redis_server: ThrowawayRedis, platform: FakePlatform
) -> None:
    at = timezone.now() + dt.timedelta(seconds=1)
    posts = []
    for account_number in range(2):
        first = approved_post(f"帳號{account_number}-第0篇")
        posts.append(first)
        for number in range(1, 3):
            post = post_create_draft(
                kol=first.kol, title=f"帳號{account_number}-第{number}篇", body="收盤104元。"
            )
            posts.append(post_approve(post=post_run_checks(post=post), by=EDITOR))
    for post in posts:
        post_schedule(post=post, by=EDITOR, at=at)
    wait_for(lambda: timezone.now() > at)

    def beat(*tasks: Any) -> None:
        with app.connection_for_write(redis_server.url) as conn:
            for task in tasks:
                task.apply_async(queue=worker.queue, connection=conn)

    beat(dispatch_publications)
    published = Publication.objects.filter(status=S.PUBLISHED)
    waiting = Publication.objects.filter(status=S.PENDING, task_eta__isnull=False)
    wait_for(
        lambda: published.count() >= 2 and waiting.exists(), what="some sent, some waiting for their pace"
    )

    redis_server.kill()  # the queued (delayed) publish tasks are lost with it
    redis_server.start()

    def all_published() -> bool:
        # celery/kombu 5.7 exit with "Unrecoverable error: AttributeError" when Redis goes away while the
        # worker holds unacknowledged (delayed) messages; a supervisor restarts it, as docker-compose does.
        if worker.process is not None and worker.process.poll() is not None:
            worker.start()
        beat(dispatch_publications, sweep_publications)
        time.sleep(0.5)
        return published.count() == len(posts)

    wait_for(all_published, timeout=60, what="every post to be published after the restart")
    for post in posts:
        assert len(platform.articles_titled(post.title)) == 1, post.title
    assert len(platform.create_requests) == len(posts)
    for kol_id in {post.kol_id for post in posts}:
        claims = Publication.objects.filter(post__kol_id=kol_id).values_list("claimed_at", flat=True)
        sent = sorted(at for at in claims if at is not None)
        assert len(sent) == 3
        assert all(later - earlier >= dt.timedelta(seconds=2) for earlier, later in itertools.pairwise(sent))
