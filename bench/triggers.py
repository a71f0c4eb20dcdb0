"""Benchmark: every trigger type over the whole market, ~2,300 stocks x 250 trading days of quotes, plus
250 ETFs (all days) and 3,000 warrants (last 40 days) that the triggers must ignore.

Run from the repo root with the project's Python:  .venv/bin/python bench/triggers.py
Uses DATABASE_URL's server when set (in a throwaway database named kol_bench_triggers, dropped at the
end; the DATABASE_URL's own database is never touched), otherwise a throwaway SQLite file.

BENCHMARK FIXTURE: the stock master is the shipped one, but every quote and news item here is
SYNTHETIC (a seeded random walk and made-up "[bench]" headlines), created only in the throwaway
database and only to time the triggers. Prints one JSON object as its last line:
{"stocks", "etfs", "warrants", "days", "seconds_per_trigger": {type: seconds, "non_common_candidates": n}}
(best of 3 runs each; non_common_candidates counts ETF/warrant/TDR candidates over the market-wide
triggers, expected 0; individual and news triggers name their stocks themselves).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.throwaway import use_throwaway_database  # noqa: E402  (needs ROOT on sys.path)

BENCH_DB = "kol_bench_triggers"
DAYS = 250
LAST_DAY = dt.date(2026, 11, 20)
SEED = 20261120
RUNS = 3
NEWS_ITEMS = 400


def _setup() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


# --- synthetic quotes (benchmark fixture) ----------------------------------------------------------------


def _trading_days() -> list[dt.date]:
    """The DAYS trading days up to LAST_DAY, from the project's calendar when it exists."""
    start = LAST_DAY - dt.timedelta(days=DAYS * 2)
    try:
        from market.calendar import trading_days

        days = trading_days(start, LAST_DAY)
    except ModuleNotFoundError:
        import exchange_calendars

        sessions = exchange_calendars.get_calendar("XTAI").sessions_in_range(start, LAST_DAY)
        days = [session.date() for session in sessions]
    return days[-DAYS:]


def _synthetic_market(count: int, days: int) -> dict[str, np.ndarray]:
    """A seeded random walk per stock: closes, volumes, suspensions, a few limit moves and surges."""
    rng = np.random.default_rng(SEED)
    returns = np.clip(rng.normal(0.0, 0.02, (days, count)), -0.1, 0.1)
    limit_moves = rng.random((days, count)) < 0.004
    returns[limit_moves] = rng.choice([-0.1, 0.1], limit_moves.sum())
    start = rng.uniform(10, 500, count)
    close = np.maximum(np.round(start * np.cumprod(1 + returns, axis=0), 2), 0.5)
    base_volume = rng.lognormal(13, 1.2, count)
    volume = base_volume * rng.lognormal(0, 0.4, (days, count))
    surges = rng.random((days, count)) < 0.02
    volume[surges] *= rng.uniform(3, 8, surges.sum())
    volume = np.round(volume / 1000) * 1000 + 1000
    suspended = rng.random((days, count)) < 0.002
    suspended[-1, rng.choice(count, 5, replace=False)] = True
    # A few stocks have no row at all on some days (a gap in the feed), including the last day.
    missing = rng.random((days, count)) < 0.001
    missing[-1, rng.choice(count, 5, replace=False)] = True
    return {"close": close, "volume": volume, "suspended": suspended, "missing": missing}


def _rows(stock_ids: list[int], days: list[dt.date]) -> list[tuple[Any, ...]]:
    market = _synthetic_market(len(stock_ids), len(days))
    rng = np.random.default_rng(SEED + 1)
    # Plain lists: indexing numpy arrays one element at a time is the slow part of building 570k rows.
    close = market["close"].tolist()
    volume = market["volume"].astype(np.int64).tolist()
    spread = np.abs(rng.normal(0, 0.01, market["close"].shape)).tolist()
    suspended, missing = market["suspended"].tolist(), market["missing"].tolist()
    now = dt.datetime.now(dt.UTC)
    rows: list[tuple[Any, ...]] = []
    for d, day in enumerate(days):
        for s, stock_id in enumerate(stock_ids):
            if missing[d][s]:
                continue
            if suspended[d][s]:
                rows.append((stock_id, day, None, None, None, None, None, 0, 0, None, now))
                continue
            price = close[d][s]
            previous = close[d - 1][s] if d else None
            opening = round(previous if previous is not None else price, 2)
            high = round(max(opening, price) * (1 + spread[d][s]), 2)
            low = round(min(opening, price) * (1 - spread[d][s]), 2)
            shares = volume[d][s]
            change = round(price - previous, 2) if previous is not None else None
            rows.append(
                (stock_id, day, opening, high, low, price, change, shares, int(shares * price), 100, now)
            )
    return rows


COLUMNS = (
    "stock_id",
    "trade_date",
    "open",
    "high",
    "low",
    "close",
    "change",
    "volume",
    "turnover",
    "transactions",
    "created_at",
)


def _insert(rows: list[tuple[Any, ...]], vendor: str) -> None:
    from django.db import connection

    from market.models import DailyQuote

    table = DailyQuote._meta.db_table
    if vendor == "postgresql":
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
        connection.ensure_connection()
        raw = connection.connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}")
        return
    marks = ", ".join(["%s"] * len(COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks})", rows)
        cursor.execute("ANALYZE")


ETFS = 250
WARRANTS = 3000
WARRANT_DAYS = 40


def _other_instruments() -> tuple[list[int], list[int]]:
    """Synthetic ETF and warrant codes the market triggers must ignore (ETFs unless a config includes them)."""
    from market.models import InstrumentType, Stock

    etfs = [
        Stock(
            code=f"00{9000 + n}",
            name=f"[bench] ETF {n}",
            market="TWSE",
            instrument_type=InstrumentType.ETF,
        )
        for n in range(ETFS)
    ]
    warrants = [
        Stock(
            code=f"7{n:05d}", name=f"[bench] 權證{n}", market="TPEx", instrument_type=InstrumentType.WARRANT
        )
        for n in range(WARRANTS)
    ]
    created = Stock.objects.bulk_create([*etfs, *warrants])
    return [stock.pk for stock in created[:ETFS]], [stock.pk for stock in created[ETFS:]]


def _warrant_rows(stock_ids: list[int], days: list[dt.date]) -> list[tuple[Any, ...]]:
    """Warrants swing far past the 10% daily limit of stocks: exactly what would swamp a limit-up trigger."""
    rng = np.random.default_rng(SEED + 3)
    close = np.maximum(np.round(rng.uniform(0.5, 5, (len(days), len(stock_ids))), 2), 0.01).tolist()
    volume = (np.round(rng.lognormal(11, 1.5, (len(days), len(stock_ids))) / 1000) * 1000 + 1000).astype(
        np.int64
    )
    now = dt.datetime.now(dt.UTC)
    rows: list[tuple[Any, ...]] = []
    for d, day in enumerate(days):
        for s, stock_id in enumerate(stock_ids):
            price = close[d][s]
            change = round(price - close[d - 1][s], 2) if d else None
            shares = int(volume[d][s])
            rows.append(
                (stock_id, day, price, price, price, price, change, shares, int(shares * price), 10, now)
            )
    return rows


def _load_market() -> tuple[int, list[dt.date]]:
    from market.models import Stock
    from market.services import stocks_load_master

    stocks_load_master()
    stock_ids = list(Stock.objects.order_by("code").values_list("pk", flat=True))
    etf_ids, warrant_ids = _other_instruments()
    days = _trading_days()
    _insert(_rows(stock_ids + etf_ids, days), _vendor())
    _insert(_warrant_rows(warrant_ids, days[-WARRANT_DAYS:]), _vendor())
    return len(stock_ids), days


def _ignored_in_candidates(result: Any) -> int:
    """How many of a result's candidates are not common stocks (must be 0 when ETFs are not asked for)."""
    from market.models import InstrumentType

    return sum(
        1
        for candidate in result.candidates
        if candidate.stock is not None and candidate.stock.instrument_type != InstrumentType.COMMON
    )


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


# --- synthetic news (benchmark fixture) ------------------------------------------------------------------

HEADLINE_WORDS = ["AI需求", "營收創高", "升息", "匯率", "通膨", "法說會", "擴產", "併購"]


def _news_model() -> Any:
    from django.apps import apps

    try:
        return apps.get_model("market", "NewsItem")
    except LookupError:
        return None


def _load_news() -> bool:
    from django.utils import timezone

    from market.models import Stock

    model = _news_model()
    if model is None:
        return False
    rng = np.random.default_rng(SEED + 2)
    now = timezone.now()
    stocks = list(Stock.objects.values_list("pk", "name"))
    items = []
    links = []
    for n in range(NEWS_ITEMS):
        pk, name = stocks[int(rng.integers(len(stocks)))]
        word = HEADLINE_WORDS[int(rng.integers(len(HEADLINE_WORDS)))]
        at = now - dt.timedelta(hours=float(rng.uniform(0, 96)))
        items.append(
            model(
                origin="feed",
                source="[bench]",
                url=f"https://bench.invalid/news/{n}",
                title=f"[bench] {name}{word}",
                snippet="(synthetic benchmark headline)",
                published_at=at,
                fetched_at=at,
            )
        )
        links.append(pk)
    created = model.objects.bulk_create(items)
    through = model.stocks.through
    through.objects.bulk_create(
        [
            through(newsitem_id=item.pk, stock_id=stock_id)
            for item, stock_id in zip(created, links, strict=True)
        ]
    )
    return True


# --- timing ----------------------------------------------------------------------------------------------


def _configs() -> dict[str, dict[str, Any]]:
    from market.models import Stock

    codes = list(
        Stock.objects.filter(instrument_type="common").order_by("code").values_list("code", flat=True)[:20]
    )
    return {
        "individual": {"stock_codes": codes},
        "sector": {"industries": ["半導體業", "電子零組件業"], "rank_by": "volume_ratio"},
        "limit_up": {},
        "limit_down": {},
        "volume_surge": {"ratio": 2, "lookback_days": 20},
        "turnover_leaders": {},
        "turnover_change": {},
        "top_gainers": {},
        "top_losers": {},
        "news": {"keywords": ["AI", "營收"], "window_hours": 72},
        "macro": {"topics": ["升息", "匯率", "通膨"], "window_hours": 72},
        "custom": {
            "price": {"min": 10, "max": 500},
            "change_pct": {"min": 1},
            "volume_ratio_min": 1.5,
            "market_cap_min_twd": 1_000_000_000,
            "rank_by": "volume_ratio",
        },
    }


def _best_of(trigger_type: str, config: dict[str, Any]) -> tuple[float, Any]:
    from scheduling.triggers import trigger_evaluate

    best, result = float("inf"), None
    for _run in range(RUNS):
        started = time.perf_counter()
        result = trigger_evaluate(trigger_type=trigger_type, config=config)
        best = min(best, time.perf_counter() - started)
    return best, result


def _time_triggers(with_news: bool) -> dict[str, Any]:
    from scheduling.trigger_types import TriggerType
    from scheduling.triggers import IntradaySourceMissing, trigger_evaluate

    timings: dict[str, Any] = {}
    ignored: dict[str, int] = {}
    configs = _configs()
    for trigger_type in TriggerType.values:
        if trigger_type == TriggerType.INTRADAY:
            try:
                trigger_evaluate(trigger_type=trigger_type, config={})
            except IntradaySourceMissing:
                timings[trigger_type] = "refused: no intraday source"
            continue
        if trigger_type == TriggerType.NEWS and not with_news:
            timings[trigger_type] = "skipped: market.NewsItem not available"
            continue
        seconds, result = _best_of(trigger_type, configs[trigger_type])
        timings[trigger_type] = round(seconds, 4)
        if trigger_type not in {TriggerType.INDIVIDUAL, TriggerType.NEWS, TriggerType.MACRO}:
            ignored[trigger_type] = _ignored_in_candidates(result)
        print(
            f"{trigger_type:17} {seconds * 1000:8.1f} ms  candidates={len(result.candidates):3} "
            f"matched={result.matched:4} excluded={result.excluded_counts}"
        )
    timings["non_common_candidates"] = sum(ignored.values())
    return timings


def main() -> None:
    vendor, cleanup = use_throwaway_database(BENCH_DB)
    try:
        started = time.perf_counter()
        _setup()
        where = BENCH_DB if vendor == "postgresql" else os.environ["DATABASE_URL"]
        print(f"database: {vendor} ({where}), migrated in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        stocks, days = _load_market()
        print(
            f"synthetic quotes: {stocks} stocks x {len(days)} days ({days[0]}..{days[-1]}) "
            f"loaded in {time.perf_counter() - started:.1f}s"
        )
        with_news = _load_news()
        print(f"synthetic news items: {NEWS_ITEMS if with_news else 0}")
        timings = _time_triggers(with_news)
    finally:
        cleanup()
    print(
        json.dumps(
            {
                "stocks": stocks,
                "etfs": ETFS,
                "warrants": WARRANTS,
                "days": len(days),
                "seconds_per_trigger": timings,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
