"""Benchmark: the review queue changelist, a post page and the admin home (dashboard), at 1,000 posts
and at BENCH_LARGE posts (default 100,000; the issue's figure is BENCH_LARGE=1000000).

Run from the repo root with the project's Python:  .venv/bin/python bench/review_queue.py
Uses DATABASE_URL's server when set (in a throwaway database named kol_bench_review, dropped at the
end), otherwise a throwaway SQLite file. The posts are synthetic benchmark fixtures, created here only.
Prints its figures as one JSON object on the last line.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.throwaway import use_throwaway_database  # noqa: E402  (needs ROOT on sys.path)

BENCH_DB = os.environ.get("BENCH_DB", "kol_bench_review")  # another name when several run at once
KOLS = 200
SMALL, LARGE = 1_000, int(os.environ.get("BENCH_LARGE", "100000"))
RUNS = 15


def _setup() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("load_stocks", verbosity=0, stdout=quiet)


def _make_posts(count: int, kols: list[Any], stocks: list[Any], rng: random.Random) -> None:
    from django.utils import timezone

    from posting.models import Post

    now = timezone.now()
    statuses = ["pending_review"] * 4 + ["draft", "rejected", "expired", "changes_requested", "published"]
    risks = [("low", 3), ("medium", 2), ("high", 1), ("blocked", 0), ("", 2)]
    batch: list[Post] = []
    for n in range(count):
        risk, rank = rng.choice(risks)
        stock = rng.choice(stocks)
        status = rng.choice(statuses)
        published = now - timedelta(hours=rng.randrange(24 * 30)) if status == "published" else None
        batch.append(
            Post(
                kol=rng.choice(kols),
                stock=stock,
                title=f"[bench] {stock.name} 盤後觀察 #{n}",
                body="（基準測試用的合成內文）今天收盤上漲，成交量放大。投資有風險，請自行判斷。" * 3,
                status=status,
                approved_at=published,
                published_at=published,
                risk_level=risk,
                risk_rank=rank,
                quality_score=round(rng.random(), 2),
                generator="template",
                trigger_type="top_gainers",
                check_summary={"duplicate": rng.random() < 0.05},
            )
        )
        if len(batch) == 5_000:
            Post.objects.bulk_create(batch)
            batch = []
    Post.objects.bulk_create(batch)


def _measure(client: Any, url: str) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches and connections
    timings = []
    queries = 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured.captured_queries)
    return statistics.median(timings), queries


def main() -> None:
    engine, drop = use_throwaway_database(BENCH_DB)
    try:
        _setup()
        from django.contrib.auth.models import Group, User
        from django.db import connection
        from django.test import Client

        from kols.models import KOL
        from market.models import Stock
        from posting.models import Post
        from posting.review.services import post_create_draft

        rng = random.Random(20261123)
        kols = KOL.objects.bulk_create(
            [KOL(serial=f"B{n:05d}", nickname=f"[bench] 達人{n}", persona="technical") for n in range(KOLS)]
        )
        stocks = list(Stock.objects.all()[:500])
        reviewer = User.objects.create_user("bench-reviewer", password="x", is_staff=True)
        reviewer.groups.add(Group.objects.get(name="Reviewer"))
        client = Client()
        client.force_login(reviewer)
        page_post = post_create_draft(
            kol=kols[0], stock=stocks[0], title="[bench] 被打開的貼文", body="收盤104元。"
        )
        queue_url = "/admin/posting/post/"
        home_url = "/admin/"
        page_url = f"/admin/posting/post/{page_post.pk}/change/"

        _make_posts(SMALL - 1, kols, stocks, rng)
        if engine == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        small_queue, queue_queries_small = _measure(client, queue_url)
        small_page, page_queries_small = _measure(client, page_url)
        small_home, home_queries_small = _measure(client, home_url)

        _make_posts(LARGE - SMALL, kols, stocks, rng)
        if engine == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        large_queue, queue_queries = _measure(client, queue_url)
        large_page, page_queries = _measure(client, page_url)
        large_home, home_queries = _measure(client, home_url)
        rows = Post.objects.count()
    finally:
        drop()

    result = {
        "engine": engine,
        "rows": rows,
        "kols": KOLS,
        "queries_changelist": queue_queries,
        "queries_change_page": page_queries,
        "queries_dashboard": home_queries,
        "queries_constant": queue_queries == queue_queries_small
        and page_queries == page_queries_small
        and home_queries == home_queries_small,
        "median_ms_1k": round(small_queue, 2),
        "median_ms_large": round(large_queue, 2),
        "ratio": round(large_queue / small_queue, 3),
        "change_page_median_ms_1k": round(small_page, 2),
        "change_page_median_ms_large": round(large_page, 2),
        "change_page_ratio": round(large_page / small_page, 3),
        "dashboard_median_ms_1k": round(small_home, 2),
        "dashboard_median_ms_large": round(large_home, 2),
        "dashboard_ratio": round(large_home / small_home, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
