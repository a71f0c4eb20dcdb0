"""Benchmark: 10,000 published posts whose 24 h snapshot is due, collected by the real dispatcher's
planning and collector loop from several worker threads, from a local fake CMoney that answers each
article read in 100 ms, under a read pace that bounds the run.

Run from the repo root with the project's Python:  .venv/bin/python bench/interactions.py
Uses DATABASE_URL's server when set (a throwaway database named kol_bench_interactions, dropped at the
end; otherwise a throwaway SQLite file) and REDIS_URL when set (the read-pace bucket). The posts and
accounts are synthetic benchmark fixtures, created here only.

The read pace is INTERACTION_READ_RATE_PER_MINUTE=6000 (100 reads/s, burst 1) shared by every process through Redis, so the pace alone needs
(posts - 1) / 100 s: that is ``ideal_s``. ``wall_s`` runs from the first plan to the last snapshot.
``duplicates`` counts article reads beyond one per post plus snapshots beyond one per (post, slot);
``missed`` counts posts without their 24 h snapshot; ``queries_per_snapshot`` is the collectors' SQL
statements divided by the snapshots they recorded. Prints one JSON object on the last line.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.throwaway import use_throwaway_database  # noqa: E402  (needs ROOT on sys.path)

BENCH_DB = "kol_bench_interactions"
POSTS, ACCOUNTS = int(os.environ.get("BENCH_POSTS", "10000")), 50
READ_SECONDS = 0.1
RATE_PER_MINUTE = float(os.environ.get("BENCH_READS_PER_MINUTE", "6000"))
# Collectors as Celery runs them: worker processes (prefork), here each with a few threads.
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "4"))
THREADS = int(os.environ.get("BENCH_THREADS", "10"))


class FakeForum(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real forum
    reads: Counter[str] = Counter()
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(200, {"access_token": "bench-token", "expires_in": 3600, "token_type": "Bearer"})

    def do_GET(self) -> None:
        article_id = self.path.rsplit("/", 1)[-1]
        time.sleep(READ_SECONDS)
        with self.lock:
            self.reads[article_id] += 1
        self._reply(
            200,
            {"emojiCount": {"like": 3, "money": 1}, "commentCount": 2, "collectedCount": 1, "donation": 0},
        )


def _fixtures(published_at: Any) -> int:
    from kols.crypto import Secret
    from kols.models import KOL, PlatformAccount
    from posting.models import Post, Publication

    kols = KOL.objects.bulk_create(
        [KOL(serial=f"I{n:05d}", nickname=f"[bench] 帳號{n}", persona="technical") for n in range(ACCOUNTS)]
    )
    accounts = [
        PlatformAccount.objects.create(
            kol=kol, login=Secret(f"bench{kol.pk}@example.com"), password=Secret("pw")
        )
        for kol in kols
    ]
    posts = Post.objects.bulk_create(
        [
            Post(kol=kols[n % ACCOUNTS], title=f"[bench] 盤後觀察 #{n}", body="（基準測試用的合成內文）",
                 status="published", approved_version=1, approved_at=published_at, published_at=published_at, platform_post_id=str(200000000 + n))
            for n in range(POSTS)
        ],
        batch_size=2000,
    )  # fmt: skip
    Publication.objects.bulk_create(
        [
            Publication(post=post, account=accounts[n % ACCOUNTS], backend="cmoney", status="published",
                        post_version=1, claimed_at=published_at, finished_at=published_at,
                        platform_post_id=post.platform_post_id)
            for n, post in enumerate(posts)
        ],
        batch_size=2000,
    )  # fmt: skip
    return accounts[0].pk


def _collector(counts: list[int], errors: list[BaseException]) -> None:
    from django.db import connection

    from analytics.collection import snapshots_collect

    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(count):
            while snapshots_collect(budget_seconds=30).outcomes:
                pass
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)
    finally:
        counts.append(queries)
        connection.close()


def _process(results: Any) -> None:
    """One worker process: THREADS collector threads; reports its SQL statements (or its first error)."""
    counts: list[int] = []
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_collector, args=(counts, errors)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(repr(errors[0]) if errors else sum(counts))


def _run(forum_url: str) -> dict[str, Any]:
    import datetime as dt

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from analytics.collection import snapshots_plan
    from analytics.models import InteractionSnapshot
    from analytics.pace import read_reset
    from posting.models import Post

    call_command("migrate", verbosity=0)
    reader = _fixtures(timezone.now() - dt.timedelta(hours=24, minutes=5))
    settings.INTERACTION_READER_ACCOUNT_ID = reader
    read_reset(platform="cmoney")
    started = time.monotonic()
    snapshots_plan()
    # Without Redis the read pace is per process: one process keeps it bounding the run.
    processes = PROCESSES if settings.REDIS_URL else 1
    connections.close_all()
    context = multiprocessing.get_context("fork")
    results: Any = context.Queue()
    children = [context.Process(target=_process, args=(results,)) for _ in range(processes)]
    for child in children:
        child.start()
    answers = [results.get() for _ in children]
    for child in children:
        child.join()
    wall = time.monotonic() - started
    failures = [answer for answer in answers if isinstance(answer, str)]
    if failures:
        raise RuntimeError(failures[0])
    counts = [int(answer) for answer in answers]
    snapshots = InteractionSnapshot.objects.count()
    per_slot = Counter(InteractionSnapshot.objects.values_list("post_id", "slot"))
    missed = Post.objects.exclude(snapshots__slot="24h").count()
    ideal = (POSTS - 1) * 60 / RATE_PER_MINUTE
    return {
        "posts": POSTS,
        "snapshots": snapshots,
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "ratio": round(wall / ideal, 3),
        "duplicates": sum(n - 1 for n in FakeForum.reads.values() if n > 1)
        + sum(n - 1 for n in per_slot.values() if n > 1),
        "missed": missed,
        "queries_per_snapshot": round(sum(counts) / max(snapshots, 1), 2),
    }


def main() -> None:
    engine, drop = use_throwaway_database(BENCH_DB)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeForum)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ.update({
        "CMONEY_IDENTITY_BASE_URL": url, "CMONEY_FORUM_BASE_URL": url, "INTERACTION_SLOTS": "24h",
        "INTERACTION_READ_RATE_PER_MINUTE": str(RATE_PER_MINUTE), "INTERACTION_READ_BURST": "1",
    })  # fmt: skip
    try:
        import django

        django.setup()
        result = _run(url)
    finally:
        server.shutdown()
        drop()
    print(
        f"engine={engine} redis={'yes' if os.environ.get('REDIS_URL') else 'no'} processes={PROCESSES} threads={THREADS}",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
