"""OpenAI-compatible Chat Completions at the HTTP boundary: a scripted httpx transport and a real local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

DRAFT = {
    "title": "台積電站穩月線",
    "body": "台積電今天收在104元，量能放大。\n投資有風險，請自行判斷。",
    "stance": "bullish",
    "tags": ["2330"],
}


def draft_json(**changes: Any) -> str:
    return json.dumps({**DRAFT, **changes}, ensure_ascii=False)


def completion(
    content: str | None,
    *,
    finish_reason: str = "stop",
    model: str = "test-model",
    prompt_tokens: int | None = 1000,
    completion_tokens: int | None = 500,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
    }
    if prompt_tokens is not None and completion_tokens is not None:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return body


def ok(content: str | None, **kwargs: Any) -> httpx.Response:
    return httpx.Response(200, json=completion(content, **kwargs))


def error(status: int, message: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    return httpx.Response(status, json=body, headers=headers)


Step = httpx.Response | Callable[[httpx.Request], httpx.Response]


class ScriptedLLM:
    """Answers each request with the next step of the script and keeps the JSON bodies it was sent."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        if not self.steps:
            raise AssertionError(f"unexpected request #{len(self.requests)}: the script is exhausted")
        step = self.steps.pop(0)
        return step(request) if callable(step) else step

    def http_client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))


class FakeLLMServer:
    """A real HTTP server on 127.0.0.1 (own thread). ``hang=True`` holds every request until the server stops."""

    def __init__(self, *, content: str = "", hang: bool = False) -> None:
        self.content = content
        self.hang = hang
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
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
                length = int(self.headers.get("Content-Length", "0"))
                fake.requests.append(json.loads(self.rfile.read(length)))
                if fake.hang:
                    fake.release.wait(timeout=10)
                    return
                payload = json.dumps(completion(fake.content)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler

    def __enter__(self) -> FakeLLMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
