"""The configured timeout against a real local server: a slow answer inside it succeeds, a stuck one fails."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from market.clients import twse
from market.clients.http import SourceRequestFailed
from tests.market.payloads import TWSE_DAY

DELAYS = {"/slow": 0.1, "/stuck": 0.8}


class _SlowExchange(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        prefix = "/" + self.path.split("/")[1]
        time.sleep(DELAYS.get(prefix, 0))
        body = json.dumps(TWSE_DAY).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            return  # the client gave up on the stuck answer: nothing to send it to

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def exchange() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowExchange)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_slow_answer_within_the_timeout_is_read(exchange: str, settings: Any) -> None:
    settings.MARKET_HTTP_TIMEOUT_SECONDS = 0.5
    settings.TWSE_OPENAPI_BASE_URL = f"{exchange}/slow/v1"
    assert len(twse.fetch_daily_quotes().quotes) == len(TWSE_DAY)


def test_an_answer_slower_than_the_timeout_fails_naming_the_source(exchange: str, settings: Any) -> None:
    settings.MARKET_HTTP_TIMEOUT_SECONDS = 0.3
    settings.TWSE_OPENAPI_BASE_URL = f"{exchange}/stuck/v1"
    with pytest.raises(SourceRequestFailed, match=r"TWSE did not answer within 0.3 seconds"):
        twse.fetch_daily_quotes()
