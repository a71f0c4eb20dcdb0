"""Shared set-up for the generation and batch tests: stocks with quotes, KOLs, and LLMs at the HTTP boundary.

The LLM is replaced where the client meets the network: an ``httpx.MockTransport`` routed by the stock
code in the prompt (``RoutedLLM``), or a real HTTP server on 127.0.0.1 (``SlowLLMServer``) for a worker
in another process. Their answers are Traditional Chinese posts whose numbers come from the test's own
quotes.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import httpx
from django.apps import apps

from kols.models import KOL, PromptTemplate
from market.models import Stock
from posting.llm.client import LLMClient
from posting.llm.config import LLMConfig
from tests.factories import DailyQuoteFactory, KOLFactory, StockFactory
from tests.posting.fake_llm import completion, error

LAST_DAY = dt.date(2026, 11, 20)
NAMES = {
    "2330": "台積電",
    "2317": "鴻海",
    "2454": "聯發科",
    "2303": "聯電",
    "2881": "富邦金",
    "2882": "國泰金",
}
CODE_IN_PROMPT = re.compile(r"（([0-9]{4,6}[A-Z]?)）")


def prompt_templates_seed() -> None:
    """The shipped prompt templates, again: a transactional test elsewhere may have flushed them."""
    if not PromptTemplate.objects.filter(is_active=True).exists():
        importlib.import_module("kols.migrations.0003_seed_prompt_templates").seed(apps, None)


def stock_with_quotes(code: str, *, days: int = 3, base: int = 100) -> Stock:
    """``days`` trading days ending LAST_DAY, each closing one yuan higher than the day before."""
    stock = cast(Stock, StockFactory(code=code, name=NAMES.get(code, f"測試{code}")))
    if stock.quotes.exists():
        return stock
    for offset in range(days):
        close = Decimal(base + offset)
        DailyQuoteFactory(
            stock=stock,
            trade_date=LAST_DAY - dt.timedelta(days=days - 1 - offset),
            open=close - 1,
            high=close + 1,
            low=close - 2,
            close=close,
            change=Decimal(1),
        )
    return stock


def kols(count: int) -> list[KOL]:
    return [cast(KOL, KOLFactory()) for _ in range(count)]


def grounded_post(code: str, close: str = "102") -> str:
    """A valid answer: title, body with the stock's own close, a risk reminder, the code as tag."""
    name = NAMES.get(code, f"測試{code}")
    return json.dumps(
        {
            "title": f"{name}收{close}元，量價穩定",
            "body": f"{name}（{code}）今天收在{close}元，比前一天多了1元。\n投資有風險，請自行判斷。",
            "stance": "neutral",
            "tags": [code],
        },
        ensure_ascii=False,
    )


def prompt_code(body: dict[str, Any]) -> str:
    """The stock code the user message is about (the prompt names it as 名稱（代號）)."""
    for message in body.get("messages", []):
        if message.get("role") == "user":
            found = CODE_IN_PROMPT.search(message.get("content", ""))
            if found:
                return found.group(1)
    raise AssertionError("no stock code in the prompt")


Route = Callable[[str, int], httpx.Response]


class RoutedLLM:
    """Answers by the prompt's stock code and how often that code was asked: ``route(code, n)``."""

    def __init__(self, route: Route | None = None) -> None:
        self.route = route or (lambda code, _n: httpx.Response(200, json=completion(grounded_post(code))))
        self.calls: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        code = prompt_code(json.loads(request.content))
        with self.lock:
            self.calls[code] += 1
            number = self.calls[code]
        return self.route(code, number)

    def client(self, **config: Any) -> LLMClient:
        settings: dict[str, Any] = {
            "base_url": "http://llm.test/v1",
            "api_key": "test-key",
            "model": "test-model",
        }
        settings.update({"max_retries": 0, "timeout_seconds": 5.0, **config})
        return LLMClient(
            LLMConfig(**settings), http_client=httpx.Client(transport=httpx.MockTransport(self.handle))
        )


def ok_answer(code: str) -> httpx.Response:
    return httpx.Response(200, json=completion(grounded_post(code)))


def server_error(code: str) -> httpx.Response:
    return error(500, f"upstream overloaded while writing {code}")


class SlowLLMServer:
    """A real OpenAI-compatible server on 127.0.0.1 answering every request after ``delay`` seconds."""

    def __init__(self, *, delay: float) -> None:
        self.delay = delay
        self.requests = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                with fake.lock:
                    fake.requests += 1
                time.sleep(fake.delay)
                payload = json.dumps(completion(grounded_post(prompt_code(body)))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler

    def __enter__(self) -> SlowLLMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def default_queue_purge() -> None:
    """Drop batch tasks a transactional test queued on the default queue (no worker of a test reads it)."""
    from django.conf import settings

    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
