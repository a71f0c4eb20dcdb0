"""Benchmark: 500 due posts over 50 accounts, through the real dispatcher and a real worker, to a local
fake CMoney answering each create in 200 ms, with the per-account gap set.

Run from the repo root with the project's Python:  .venv/bin/python bench/publish.py
Uses DATABASE_URL's server when set (in a throwaway database named kol_bench_publish, dropped at the
end; otherwise a throwaway SQLite file) and REDIS_URL when set (broker and platform-rate bucket, on a
private queue). The posts and accounts are synthetic benchmark fixtures, created here only.

The pace is set so the rules alone need about 95 s: PUBLISH_MIN_GAP_SECONDS=10 and
PUBLISH_JITTER_SECONDS=1 for 10 posts per account give 9 gaps of 10 s plus 10 jitters averaging 0.5 s;
the platform-wide rate (600/min, burst 10) would need 49 s for 500 posts, so the account gap governs.
``ideal_s`` is that figure; ``wall_s`` runs from the dispatcher's tick to the last publication recorded
as published. Prints its figures as one JSON object on the last line.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.throwaway import use_throwaway_database  # noqa: E402  (needs ROOT on sys.path)

BENCH_DB = "kol_bench_publish"
POSTS, ACCOUNTS = 500, 50
CREATE_SECONDS = 0.2
GAP_SECONDS, JITTER_SECONDS = 10.0, 1.0
PLATFORM_RATE_PER_MINUTE, PLATFORM_BURST = 600.0, 10
WORKER_CONCURRENCY = 8
BEAT_SECONDS = 60


def _pace_environment(platform_url: str, queue: str) -> dict[str, str]:
    return {
        "CMONEY_IDENTITY_BASE_URL": platform_url,
        "CMONEY_FORUM_BASE_URL": platform_url,
        "PUBLISH_MIN_GAP_SECONDS": str(GAP_SECONDS),
        "PUBLISH_JITTER_SECONDS": str(JITTER_SECONDS),
        "PUBLISH_ACCOUNT_MAX_PER_HOUR": "20",
        "PUBLISH_ACCOUNT_MAX_PER_DAY": "20",
        "PUBLISH_PLATFORM_RATE_PER_MINUTE": str(PLATFORM_RATE_PER_MINUTE),
        "PUBLISH_PLATFORM_BURST": str(PLATFORM_BURST),
        "PUBLISH_CUTOFF_MINUTES": "60",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }


def _start_worker(queue: str, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
         f"--concurrency={WORKER_CONCURRENCY}", "-Q", queue, "--loglevel=WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return process


def _fixtures(due_at: Any) -> list[str]:
    from kols.crypto import Secret
    from kols.models import KOL, PlatformAccount
    from posting.lifecycle.transitions import Actor
    from posting.review.services import post_approve, post_create_draft, post_schedule

    bench = Actor(label="bench")
    kols = KOL.objects.bulk_create(
        [
            KOL(serial=f"P{n:05d}", nickname=f"[bench] 帳號{n}", persona="technical", dry_run=False,
                max_posts_per_hour=20, max_posts_per_day=20)
            for n in range(ACCOUNTS)
        ]
    )  # fmt: skip
    for kol in kols:
        PlatformAccount.objects.create(
            kol=kol, login=Secret(f"bench{kol.pk}@example.com"), password=Secret(f"bench-password-{kol.pk}")
        )
    titles = []
    for n in range(POSTS):
        title = f"[bench] 盤後觀察 #{n}"
        post = post_create_draft(
            kol=kols[n % ACCOUNTS], title=title, body="（基準測試用的合成內文）投資有風險。"
        )
        post = post_approve(post=post, by=bench)
        post_schedule(post=post, by=bench, at=due_at)
        titles.append(title)
    return titles


def _run(platform: Any, queue: str, log: Path) -> dict[str, Any]:
    import datetime as dt

    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from posting.models import Publication
    from posting.publishing.pace import platform_key
    from posting.tasks import dispatch_publications, sweep_publications

    call_command("migrate", verbosity=0)
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).delete(platform_key("cmoney"))
    due_at = timezone.now() + dt.timedelta(seconds=20)
    titles = _fixtures(due_at)
    worker = _start_worker(queue, log)
    try:
        while timezone.now() < due_at:
            time.sleep(0.1)
        started = time.monotonic()
        published = Publication.objects.filter(status="published")
        deadline = started + 600
        next_beat = started
        while published.count() < POSTS and time.monotonic() < deadline:
            if time.monotonic() >= next_beat:  # what beat does every minute
                dispatch_publications.apply_async(queue=queue)
                sweep_publications.apply_async(queue=queue)
                next_beat += BEAT_SECONDS
            if worker.poll() is not None:
                raise RuntimeError(f"The worker exited; log:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        wall = time.monotonic() - started
        time.sleep(1)  # anything still in flight would show up as a duplicate now
        statuses = Counter(Publication.objects.values_list("status", flat=True))
        departures: dict[int, list[Any]] = {}
        for account_id, at in Publication.objects.values_list("account_id", "claimed_at"):
            departures.setdefault(account_id, []).append(at)
        departure_gaps = [
            (b - a).total_seconds()
            for times in departures.values()
            for a, b in itertools.pairwise(sorted(times))
        ]
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=60)
    received = Counter(article.title for article in platform.articles)
    by_account: dict[str, list[float]] = {}
    for article in platform.articles:
        by_account.setdefault(article.token.split("-", 2)[-1], []).append(article.received_at)
    gaps = [b - a for times in by_account.values() for a, b in itertools.pairwise(sorted(times))]
    per_account = POSTS // ACCOUNTS
    ideal = max(
        (per_account - 1) * GAP_SECONDS + per_account * JITTER_SECONDS / 2,
        (POSTS - PLATFORM_BURST) * 60 / PLATFORM_RATE_PER_MINUTE,
    )
    return {
        "posts": POSTS,
        "accounts": ACCOUNTS,
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "ratio": round(wall / ideal, 3),
        "duplicates": sum(count - 1 for count in received.values() if count > 1),
        "lost": sum(1 for title in titles if title not in received),
        "statuses": dict(statuses),
        "smallest_gap_s": round(min(gaps), 3) if gaps else None,
        "smallest_departure_gap_s": round(min(departure_gaps), 3) if departure_gaps else None,
    }


def main() -> None:
    engine, drop = use_throwaway_database(BENCH_DB)
    from tests.posting.fake_platform import FakePlatform

    platform = FakePlatform(create_delay=CREATE_SECONDS).start()
    queue = f"bench-publish-{uuid.uuid4().hex[:8]}"
    os.environ.update(_pace_environment(platform.url, queue))
    log = Path(tempfile.mkdtemp(prefix="kol-bench-worker-")) / "worker.log"
    try:
        import django

        django.setup()
        result = _run(platform, queue, log)
    finally:
        platform.stop()
        drop()
    print(f"engine={engine} worker log: {log}", file=sys.stderr)
    summary = {
        key: result[key] for key in ("posts", "accounts", "wall_s", "ideal_s", "ratio", "duplicates", "lost")
    }
    print(f"publication statuses: {result['statuses']}", file=sys.stderr)
    print(f"smallest gap between two creates of one account: {result['smallest_departure_gap_s']} s as sent, "
          f"{result['smallest_gap_s']} s as the fake platform's threads stamped them "
          f"(PUBLISH_MIN_GAP_SECONDS={GAP_SECONDS})", file=sys.stderr)  # fmt: skip
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
