"""Statistical check of the analysis method on SYNTHETIC audiences with KNOWN effects.

Nothing here is real data: every score is drawn from a made-up model, in a throwaway database, and fed
through the real analysis services (analytics.analysis.top.top_features and
analytics.analysis.learning.learning_lift). Each run draws POSTS posts:

- two real drivers: ending with a question (x1.6 on the score) and news in context (x1.4);
- ten features that do nothing: stance, emoji, title length, body length, market cap, edited, post
  type, trigger, industry, weekday (random values, no effect on the score);
- the learning loop: 20% of posts are control; in half of the runs guided posts score x1.15 (true lift
  +15%), in the other half guided and control are the same (true lift 0).

Measured over the runs: driver_recall (share of run x driver where the driver's "on" value is a
significant positive finding), false_finding_rate (share of run x do-nothing feature with any
significant value), lift_coverage (share of runs whose 95% interval of the overall learning lift covers
the true lift, with the Wilson interval of that share: the coverage of a 95% interval is itself measured
from RUNS draws), false_lift_rate (share of no-lift runs where the analysis claims the playbook helps or
hurts). Prints one JSON object on the last line.

Run from the repo root:  .venv/bin/python bench/learning.py [runs]
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.throwaway import use_throwaway_database  # noqa: E402  (needs ROOT on sys.path)

BENCH_DB = "kol_bench_learning"
# The issue asks for at least 200 runs. At 200 the coverage of a ~95% interval is itself read only to
# about +/-3 points (the first 200-run reading of this seed was 0.895, a low draw of a method that covers
# ~0.945 over 11,000 runs), so the default is 1,000 runs: about +/-1.4 points, about nine minutes.
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
POSTS = 1500
KOLS = 3
CONTROL_SHARE = 0.2
TRUE_LIFT = 0.15
DRIVERS = {"ends_with_question": (True, 0.4, 1.6), "has_news": (True, 0.5, 1.4)}
NOISE: dict[str, list[Any]] = {
    "stance": ["bull", "bear", "neutral"],
    "emoji": ["0", "1-2", "3+"],
    "title_length": ["<15", "15-29", "30+"],
    "body_length": ["<150", "150-299", "300-599", "600+"],
    "market_cap": ["small", "mid", "large"],
    "edited": ["none", "light", "medium", "heavy"],
    "post_type": ["analysis", "question", "news_commentary"],
    "trigger_type": ["top_gainers", "top_losers", "volume_spike", "news"],
    "industry": ["半導體業", "金融保險業", "航運業", "電子零組件業", "生技醫療業"],
    "weekday": [0, 1, 2, 3, 4],
}
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def _setup() -> tuple[list[Any], list[Any]]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from kols.models import KOL
    from posting.models import Post

    kols = [
        KOL.objects.create(serial=f"bench{n}", nickname=f"[bench] 合成帳號 {n}", persona="technical")
        for n in range(KOLS)
    ]
    posts = Post.objects.bulk_create(
        Post(kol=kols[n % KOLS], title=f"[bench] 合成貼文 {n}", body="（合成資料）", status="draft")
        for n in range(POSTS)
    )
    return kols, posts


def _features(run: int, kols: list[Any], posts: list[Any], rng: random.Random, lift: float) -> list[Any]:
    from analytics.models import PostFeatures

    rows = []
    for n, post in enumerate(posts):
        values: dict[str, Any] = {name: rng.choice(choices) for name, choices in NOISE.items()}
        score = math.exp(rng.gauss(3.0, 0.8))
        for name, (_on, share, factor) in DRIVERS.items():
            values[name] = rng.random() < share
            score *= factor if values[name] else 1.0
        control = rng.random() < CONTROL_SHARE
        score *= 1.0 if control else 1.0 + lift
        published = START + dt.timedelta(days=values["weekday"], hours=rng.randrange(0, 12))
        rows.append(
            PostFeatures(
                post=post,
                kol=kols[n % KOLS],
                persona="technical",
                hour=published.hour,
                published_at=published,
                published_day=published.date(),
                score=round(score, 2),
                playbook_group="control" if control else "guided",
                playbook_version=1,
                **values,
            )
        )
    return rows


def _one_run(run: int, kols: list[Any], posts: list[Any], rng: random.Random) -> dict[str, Any]:
    from analytics.analysis.learning import learning_lift
    from analytics.analysis.scope import Scope
    from analytics.analysis.top import top_features
    from analytics.models import PostFeatures

    lift = TRUE_LIFT if run % 2 == 0 else 0.0
    PostFeatures.objects.all().delete()
    PostFeatures.objects.bulk_create(_features(run, kols, posts, rng, lift), batch_size=2000)
    scope = Scope(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 8))
    result = top_features(scope=scope)
    significant = [row for row in result["values"] if row["significant"]]
    found = {
        name: any(row["feature"] == name and row["value"] == on and row["lift"] > 0 for row in significant)
        for name, (on, _share, _factor) in DRIVERS.items()
    }
    false = {name: any(row["feature"] == name for row in significant) for name in NOISE}
    overall = learning_lift(scope=scope)["overall"]
    low, high = overall["interval"] or (math.inf, -math.inf)
    return {
        "lift": lift,
        "found": found,
        "false": false,
        "covered": low <= lift <= high,
        "claimed": overall["helps"] or overall["hurts"],
    }


def main() -> None:
    _vendor, cleanup = use_throwaway_database(BENCH_DB)
    started = time.monotonic()
    try:
        kols, posts = _setup()
        rng = random.Random(20261205)
        outcomes = [_one_run(run, kols, posts, rng) for run in range(RUNS)]
    finally:
        cleanup()
    from analytics.analysis.stats import wilson

    no_lift = [o for o in outcomes if o["lift"] == 0]
    covered = sum(o["covered"] for o in outcomes)
    summary = {
        "runs": RUNS,
        "posts_per_run": POSTS,
        "driver_recall": sum(sum(o["found"].values()) for o in outcomes) / (RUNS * len(DRIVERS)),
        "false_finding_rate": sum(sum(o["false"].values()) for o in outcomes) / (RUNS * len(NOISE)),
        "lift_coverage": covered / RUNS,
        # The coverage is itself an estimate from RUNS runs: its 95% Wilson interval (at 200 runs a
        # method with exactly 95% coverage reads anywhere from about 0.92 to 0.98; at 1,000 from 0.94 to 0.96).
        "lift_coverage_interval": [round(bound, 3) for bound in wilson(covered, RUNS)],
        "false_lift_rate": sum(o["claimed"] for o in no_lift) / len(no_lift),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
