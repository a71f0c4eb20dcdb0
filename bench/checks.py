"""Benchmark: one draft check against a window of recent posts and a stance ledger, at 1,000 and 5,000 posts.

Run from the repo root with the project's Python:  .venv/bin/python bench/checks.py
Uses DATABASE_URL's server when set (in a throwaway database named kol_bench_checks, dropped at the end),
otherwise a throwaway SQLite file. The posts are synthetic benchmark fixtures, created here only: analyses
of a few stocks with the same figures and different sentences, the case where the sentence-by-sentence
paraphrase comparison has the most candidates. Prints its figures as one JSON object on the last line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.throwaway import use_throwaway_database  # noqa: E402  (needs ROOT on sys.path)

BENCH_DB = "kol_bench_checks"
KOLS = 100
STOCKS = ("2330", "2454", "2317", "2603", "2882")
SIZES = (1_000, 5_000)
RUNS = 15
OPENINGS = ("{name}今天上漲4元，收在104元。", "{name}收104元，漲4元。", "今天{name}以104元作收。")
MIDDLES = (
    "外資連三天買超，市場關注先進製程的訂單能見度。",
    "投信轉為賣超，融資餘額增加，籌碼略顯凌亂。",
    "毛利率受新廠折舊影響，今年可能被稀釋。",
    "配息穩定調升，存股族可以留意現金流。",
    "AI伺服器需求帶動先進封裝產能吃緊。",
    "台幣升值對出口股的獲利是一大變數。",
    "法說會前股價先漲一段，要小心利多出盡。",
    "技術面站上月線，但乖離偏大，追高要留意。",
    "我維持看多，逢低可以分批布局。",
    "短線轉弱，我偏空看待，先減碼觀望。",
)
CLOSING = "投資有風險，請自行判斷。"


def _setup() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _text(rng: random.Random, name: str) -> str:
    return rng.choice(OPENINGS).format(name=name) + "".join(rng.sample(MIDDLES, 3)) + CLOSING


def _fill(total: int, rng: random.Random) -> None:
    from django.utils import timezone

    from kols.models import KOL
    from market.models import Stock
    from posting.models import Post, StanceEntry
    from tests.factories import KOLFactory, StockFactory

    kols = list(KOL.objects.all()) or [KOLFactory() for _ in range(KOLS)]
    stocks = list(Stock.objects.filter(code__in=STOCKS)) or [
        StockFactory(code=code, name=f"測試{code}") for code in STOCKS
    ]
    now = timezone.now()
    have = Post.objects.count()
    posts = []
    for index in range(have, total):
        stock = rng.choice(stocks)
        posts.append(
            Post(
                kol=rng.choice(kols),
                stock=stock,
                title=f"{stock.name}觀察 {index}",
                body=_text(rng, stock.name),
                status=Post.Status.PUBLISHED,
                approved_at=now,
                published_at=now - dt.timedelta(hours=rng.randint(1, 200)),
            )
        )
    Post.objects.bulk_create(posts, batch_size=1000)
    StanceEntry.objects.bulk_create(
        [
            StanceEntry(
                kol=post.kol,
                stock=post.stock,
                post=post,
                stance=rng.choice(("bullish", "bearish", "neutral")),
                thesis=post.body[:40],
                published_at=post.published_at,
            )
            for post in posts
        ],
        batch_size=1000,
    )


def _measure(rng: random.Random) -> dict[str, Any]:
    from kols.models import KOL
    from market.models import Stock
    from posting.checks import draft_check

    stock = Stock.objects.get(code=STOCKS[0])
    kol = KOL.objects.order_by("pk").first()
    snapshot = {"close": 104, "open": 100, "high": 105, "low": 99, "change": 4, "change_pct": 4.0}
    timings: list[float] = []
    cpu: list[float] = []
    report = None
    for run in range(RUNS + 1):
        body = _text(rng, stock.name)
        started, started_cpu = time.perf_counter(), time.process_time()
        report = draft_check(title="盤後觀察", body=body, snapshot=snapshot, stock=stock, kol=kol)
        if run:  # the first run fills the folded-text cache
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    assert report is not None
    return {
        "median_ms": round(statistics.median(timings), 1),
        "p95_ms": round(sorted(timings)[int(len(timings) * 0.95) - 1], 1),
        # This process's CPU time: steadier than the wall clock on a shared machine.
        "median_cpu_ms": round(statistics.median(cpu), 1),
        "compared": report.duplicates["compared"],
        "scored": report.duplicates["scored"],
        "by_sentence": report.duplicates["by_sentence"],
    }


def main() -> None:
    _vendor, drop = use_throwaway_database(BENCH_DB)
    try:
        _setup()
        rng = random.Random(15)
        result: dict[str, Any] = {"bench": "checks", "runs": RUNS}
        for size in SIZES:
            _fill(size, rng)
            result[f"posts_{size}"] = _measure(rng)
        small, large = (result[f"posts_{size}"]["median_ms"] for size in SIZES)
        result["ratio"] = round(large / small, 2) if small else None
    finally:
        drop()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
