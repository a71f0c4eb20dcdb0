"""Benchmark: a batch of 200 drafts through the real pipeline against an LLM answering after 500 ms.

Run from the repo root with the project's Python:  .venv/bin/python bench/generation.py
Uses DATABASE_URL's server when set (in a throwaway database named kol_bench_generation, dropped at the
end; the DATABASE_URL's own database is never touched), otherwise a throwaway SQLite file. REDIS_URL,
when set, is used as everywhere else (cache, broker); the batch's task message goes to a private queue
that is deleted at the end, and the batch runner runs here, in this process, as the worker would run it.

The pipeline is the product's: ``batch_start`` creates the batch and its items, ``batch_run`` claims the
items with 20 lanes, and each draft goes through the market snapshot, the active prompt template, the
real LLM client over HTTP, ``post_create_draft``, the draft checks and the outcome record.

BENCHMARK FIXTURE: the stocks ("[bench]" names, codes 9101-9110), their quotes and the KOLs are
SYNTHETIC, created only in the throwaway database. The LLM is a local OpenAI-compatible server (a
subprocess on 127.0.0.1) that waits 500 ms and answers with a Traditional Chinese post built from the
same synthetic quotes, so every figure in it is grounded in the snapshot.

Prints one JSON object as its last line:
{"drafts", "concurrency", "latency_ms", "wall_s", "ideal_s", "ratio", "overhead_ms_median"}
with ideal_s = ceil(drafts / concurrency) * latency. Target: ratio <= 1.2.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.throwaway import use_throwaway_database  # noqa: E402  (needs ROOT on sys.path)

BENCH_DB = "kol_bench_generation"
DRAFTS = 200
CONCURRENCY = 20
LATENCY_S = 0.5
STOCKS = 10
KOLS = DRAFTS // STOCKS
DAYS = 25
LAST_DAY = dt.date(2026, 11, 20)
CODE_IN_PROMPT = re.compile(r"（(9[0-9]{3})）")


# --- Synthetic quotes, shared by the database fixture and the fake LLM ------------------------------


def bench_code(n: int) -> str:
    return f"{9101 + n}"


def bench_quote(code: str, day: int) -> dict[str, Decimal | int]:
    """Day ``day`` (0 = oldest) of a synthetic stock: a gentle zig-zag around a code-dependent level."""
    level = Decimal(50 + (int(code) % 100) * 3)
    close = level + Decimal(day % 5) - Decimal(2) + Decimal(day) / 10
    previous = level + Decimal((day - 1) % 5) - Decimal(2) + Decimal(day - 1) / 10
    return {
        "open": previous,
        "high": close + 1,
        "low": min(close, previous) - 1,
        "close": close,
        "change": close - previous,
        "volume": 2_000_000 + 100_000 * day + int(code) % 7 * 10_000,
        "turnover": int((close * (2_000_000 + 100_000 * day)).to_integral_value()),
    }


def _number(value: Decimal) -> str:
    return f"{abs(value).normalize():,f}"


def bench_answer(code: str, variant: int) -> str:
    """A Traditional Chinese post (benchmark fixture) citing only the synthetic latest quote of ``code``."""
    quote = bench_quote(code, DAYS - 1)
    close, change = Decimal(quote["close"]), Decimal(quote["change"])
    pct = (change / (close - change) * 100).quantize(Decimal("0.01"))
    lots = round(int(quote["volume"]) / 1000)
    move = "上漲" if change > 0 else "下跌" if change < 0 else "持平"
    openings = [
        "盤後整理一下今天的數字。",
        "收盤後來看看這檔的表現。",
        "今天這檔的量價值得記一下。",
        "簡單記錄今天的走勢。",
    ]
    body = (
        f"{openings[variant % len(openings)]}\n"
        f"基準測試股{code[-2:]}今天收在{_number(close)}元，{move}{_number(change)}元（{_number(pct)}%），"
        f"成交量約{lots:,}張。\n"
        "後續量能能否延續，還需要再觀察幾天。\n"
        "投資有風險，以上僅為個人觀察，請自行判斷。"
    )
    post = {
        "title": f"基準測試股{code[-2:]}收{_number(close)}元",
        "body": body,
        "stance": "neutral",
        "tags": [code],
    }
    return json.dumps(post, ensure_ascii=False)


# --- The fake LLM server (a subprocess, so it does not share this process's interpreter lock) -------


def serve_fake_llm() -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real OpenAI-compatible servers do
        # Headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer, which is the fake server's cost, not ours.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            prompt = " ".join(message.get("content", "") for message in request.get("messages", []))
            found = CODE_IN_PROMPT.search(prompt)
            time.sleep(LATENCY_S)
            if found is None:
                self.send_error(400, "benchmark fake LLM: no benchmark stock code in the prompt")
                return
            content = bench_answer(found.group(1), len(prompt))
            payload = json.dumps(
                {
                    "id": f"chatcmpl-bench-{uuid.uuid4().hex[:8]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": request.get("model", "bench-model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 900, "completion_tokens": 250, "total_tokens": 1150},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    print(server.server_address[1], flush=True)
    server.serve_forever()


def _start_fake_llm() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-fake-llm"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/v1"


def _configure(llm_url: str, queue: str) -> None:
    os.environ.update(
        {
            "LLM_BASE_URL": llm_url,
            "LLM_API_KEY": "bench",
            "LLM_MODEL": "bench-model",
            "LLM_MAX_RETRIES": "0",
            "LLM_TIMEOUT_SECONDS": "30",
            "GENERATION_CONCURRENCY": str(CONCURRENCY),
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "LOG_LEVEL": "WARNING",
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _fixtures() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The synthetic stocks, their quotes and the KOLs (benchmark fixtures): the batch's items, and two
    more (another KOL) for the warm-up."""
    from kols.models import KOL
    from market.models import DailyQuote, Stock

    stocks = Stock.objects.bulk_create(
        [
            Stock(code=bench_code(n), name=f"[bench] 基準測試股{n + 1:02d}", industry="半導體業")
            for n in range(STOCKS)
        ]
    )
    first_day = LAST_DAY - dt.timedelta(days=DAYS - 1)
    DailyQuote.objects.bulk_create(
        DailyQuote(stock=stock, trade_date=first_day + dt.timedelta(days=day), **bench_quote(stock.code, day))
        for stock in stocks
        for day in range(DAYS)
    )
    kols = KOL.objects.bulk_create(
        [
            KOL(serial=f"BG{n:04d}", nickname=f"[bench] 達人{n:02d}", persona="technical")
            for n in range(KOLS + 1)
        ]
    )
    items = [
        {"kol_id": kol.pk, "stock_code": stock.code, "trigger_type": "bench"}
        for kol in kols
        for stock in stocks
    ]
    return items[:DRAFTS], items[DRAFTS : DRAFTS + 2]


def _purge_queue(queue: str) -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def _busy_seconds() -> float:
    """CPU seconds the whole machine spent busy so far (all processes: this one, the database, the fake LLM)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _run_batch(items: list[dict[str, Any]]) -> tuple[Any, float]:
    """Start a batch the way the API does and run it the way the worker does; the batch and its wall time."""
    from posting.generation.batches import batch_start
    from posting.generation.runner import batch_run
    from posting.models import GenerationBatch

    started = time.perf_counter()
    batch = batch_start(source=GenerationBatch.Source.API, items=items, post_type="analysis")
    result = batch_run(batch_id=batch.pk, token=batch.runner_token, concurrency=CONCURRENCY)
    wall = time.perf_counter() - started
    batch.refresh_from_db()
    if not result.finished or batch.succeeded_count != len(items):
        raise SystemExit(f"the batch did not finish cleanly: {result.as_dict()} / {batch.error_summary}")
    return batch, wall


def _measure(items: list[dict[str, Any]], warm_up: list[dict[str, Any]]) -> dict[str, Any]:
    from posting.models import BatchItem

    # Steady state, as in a running worker: the broker connection, the LLM client and the lazy imports
    # are set up by a two-draft batch that is not timed.
    _run_batch(warm_up)
    cpu, system = time.process_time(), _busy_seconds()
    batch, wall = _run_batch(items)
    print(
        f"cpu_s={time.process_time() - cpu:.2f} machine_busy_s={_busy_seconds() - system:.2f}",
        file=sys.stderr,
    )
    spans = BatchItem.objects.filter(batch=batch).values_list("started_at", "finished_at")
    overheads = [
        (finished - start).total_seconds() * 1000 - LATENCY_S * 1000
        for start, finished in spans
        if start is not None and finished is not None
    ]
    return {"wall": wall, "overhead_ms_median": statistics.median(overheads)}


def main() -> None:
    engine, drop = use_throwaway_database(BENCH_DB)
    fake, llm_url = _start_fake_llm()
    queue = f"bench-generation-{uuid.uuid4().hex[:8]}"
    try:
        _configure(llm_url, queue)
        items, warm_up = _fixtures()
        measured = _measure(items, warm_up)
        from posting.models import Post

        checked = Post.objects.filter(checked_at__isnull=False, generator="llm").count()
        codes: Counter[str] = Counter()
        for findings in Post.objects.values_list("check_findings", flat=True):
            codes.update(str(finding.get("code")) for finding in findings)
        print(f"engine={engine} posts_checked={checked} findings={dict(codes)}", file=sys.stderr)
        _purge_queue(queue)
    finally:
        fake.terminate()
        fake.wait(timeout=10)
        drop()

    ideal = math.ceil(DRAFTS / CONCURRENCY) * LATENCY_S
    result = {
        "drafts": DRAFTS,
        "concurrency": CONCURRENCY,
        "latency_ms": int(LATENCY_S * 1000),
        "wall_s": round(measured["wall"], 3),
        "ideal_s": ideal,
        "ratio": round(measured["wall"] / ideal, 3),
        "overhead_ms_median": round(measured["overhead_ms_median"], 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    if "--serve-fake-llm" in sys.argv:
        serve_fake_llm()
    else:
        main()
