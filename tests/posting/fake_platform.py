"""A local stand-in for CMoney's identity and forum services (PLATFORMS.md), for fault tests and the bench.

A threaded HTTP server on 127.0.0.1 that implements the documented endpoints (log in, create, delete,
read an article), records every request, and can be told how to answer the next creates: delay, fail
with a status (401, 429 with Retry-After, 500), or record the article and then hold or delay the answer
(a success the client never hears about).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Answer:
    """How to answer one create request."""

    status: int = 200
    delay: float = 0.0
    retry_after: str | None = None
    # The article is created before the answer (as on the real platform, a 5xx or a slow answer may
    # still have created it). False: refused before creating anything (401, 429, 4xx).
    creates: bool = True
    # Wait for this event (after creating) before answering; set it to let the handler finish.
    hold: threading.Event | None = None


@dataclass
class Article:
    id: str
    title: str
    text: str
    commodity_tags: list[dict[str, Any]]
    topic: dict[str, Any] | None
    token: str
    received_at: float


@dataclass
class FakePlatform:
    create_delay: float = 0.0
    # email -> password; empty: any login works except the password "wrong".
    accounts: dict[str, str] = field(default_factory=dict)
    token_lifetime: int = 3600
    articles: list[Article] = field(default_factory=list)
    create_requests: list[dict[str, Any]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # Every create from a token issued before this moment is refused with 401 (tokens "expire").
    tokens_valid_after: float = 0.0
    refuse_all_tokens: bool = False
    # Non-empty: every log-in is refused with this OAuth error ("invalid_client" = our configuration).
    login_error: str = ""
    # Article ids hidden by moderation: reads answer 404 with a 「紅標」 body, as CMoney does.
    hidden_ids: set[str] = field(default_factory=set)
    # Every PUT /api/Article/Update/{id}: {"id", "body", "token"}.
    updates: list[dict[str, Any]] = field(default_factory=list)
    # Non-zero: an update is applied, then answered with this status (a 5xx that hides a success).
    answer_updates_with: int = 0
    # What GET /api/Topic/Trending answers.
    trending: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: deque[Answer] = deque()
        self._tokens: dict[str, float] = {}
        self._next_id = 1000
        self._server: ThreadingHTTPServer | None = None

    # --- Control --------------------------------------------------------------------------------------

    def start(self) -> FakePlatform:
        handler = type("Handler", (_Handler,), {"platform": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def answer_next_creates(self, *answers: Answer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def reset(self) -> None:
        with self._lock:
            self._answers.clear()
            self.articles.clear()
            self.create_requests.clear()
            self.logins.clear()
            self.deleted.clear()
            self.refuse_all_tokens = False
            self.login_error = ""
            self.hidden_ids.clear()
            self.updates.clear()
            self.answer_updates_with = 0

    def articles_titled(self, title: str) -> list[Article]:
        with self._lock:
            return [article for article in self.articles if article.title == title]

    def wait_until(self, condition: Any, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return False

    # --- Behaviour ------------------------------------------------------------------------------------

    def _login(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        account, password = form.get("account", ""), form.get("password", "")
        complete = form.get("grant_type") == "password" and bool(
            form.get("client_id") and account and password
        )
        known = password == self.accounts.get(account) if self.accounts else password != "wrong"
        ok = complete and known
        with self._lock:
            self.logins.append(account)
            if self.login_error:
                return 400, {"error": self.login_error}
            if not ok:
                return 400, {"error": "invalid_grant"}
            token = f"token-{len(self.logins)}-{account}"
            self._tokens[token] = time.time()
        return 200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}

    def _token_ok(self, header: str) -> str | None:
        token = header.removeprefix("Bearer ").strip()
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or self.refuse_all_tokens or issued < self.tokens_valid_after:
            return None
        return token

    def _create(self, token: str, body: dict[str, Any]) -> tuple[Answer, Article | None]:
        with self._lock:
            self.create_requests.append({"body": body, "token": token, "at": time.time()})
            answer = self._answers.popleft() if self._answers else Answer(delay=self.create_delay)
            if not answer.creates:
                return answer, None
            self._next_id += 1
            article = Article(
                id=str(self._next_id),
                title=str(body.get("title", "")),
                text=str(body.get("text", "")),
                commodity_tags=list(body.get("commodityTags") or []),
                topic=body.get("communityTopic"),
                token=token,
                received_at=time.time(),
            )
            self.articles.append(article)
        return answer, article

    def _refused(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.create_requests.append({"body": body, "token": None, "at": time.time(), "status": 401})

    def _find(self, article_id: str) -> Article | None:
        with self._lock:
            return next((a for a in self.articles if a.id == article_id and a.id not in self.deleted), None)

    def _delete(self, article_id: str) -> bool:
        with self._lock:
            if article_id in self.deleted or not any(a.id == article_id for a in self.articles):
                return False
            self.deleted.append(article_id)
            return True


class _Handler(BaseHTTPRequestHandler):
    platform: FakePlatform
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the tests read the platform's records instead

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, data: Any = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if data is None else json.dumps(data).encode()
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client (a killed worker, a timed-out request) is gone

    def do_POST(self) -> None:
        raw = self._body()
        if self.path == "/identity/token":
            form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
            status, data = self.platform._login(form)
            self._reply(status, data)
            return
        if self.path == "/api/Article/Create":
            self._do_create(raw)
            return
        self._reply(404, {"error": "not found"})

    def _do_create(self, raw: bytes) -> None:
        token = self.platform._token_ok(self.headers.get("Authorization", ""))
        if token is None:
            self.platform._refused(json.loads(raw or b"{}"))
            self._reply(401, {"error": "unauthorized"})
            return
        if self.headers.get("Content-Type") != "application/json-patch+json":
            self._reply(415, {"error": "unsupported media type"})
            return
        if not self._trace_context_ok():
            return
        answer, article = self.platform._create(token, json.loads(raw or b"{}"))
        if answer.hold is not None:
            answer.hold.wait(timeout=60)
        if answer.delay:
            time.sleep(answer.delay)
        headers = {"Retry-After": answer.retry_after} if answer.retry_after else {}
        if answer.status >= 300 or article is None:
            self._reply(answer.status, {"error": "refused"}, headers)
            return
        # CMoney's SDK: the new article's id as the integer articleId.
        self._reply(answer.status, {"articleId": int(article.id)})

    def _trace_context_ok(self) -> bool:
        """CMoney's SDK documents cmoneyapi-trace-context as required on every forum request."""
        if self.headers.get("cmoneyapi-trace-context") and self.headers.get("Accept") == "application/json":
            return True
        self._reply(400, {"message": "cmoneyapi-trace-context and Accept: application/json are required"})
        return False

    def _hidden(self, article_id: str) -> bool:
        if article_id in self.platform.hidden_ids:
            self._reply(404, {"message": "此為紅標文章"})
            return True
        return False

    def do_PUT(self) -> None:
        raw = self._body()
        token = self.platform._token_ok(self.headers.get("Authorization", ""))
        if token is None:
            self._reply(401, {"error": "unauthorized"})
            return
        prefix = "/api/Article/Update/"
        if not self.path.startswith(prefix) or not self._trace_context_ok():
            self._reply(404, {"error": "not found"})
            return
        article_id = self.path[len(prefix) :]
        if self._hidden(article_id):
            return
        article = self.platform._find(article_id)
        if article is None:
            self._reply(404, {"error": "not found"})
            return
        body = json.loads(raw or b"{}")
        with self.platform._lock:
            self.platform.updates.append({"id": article_id, "body": body, "token": token})
            article.title = str(body.get("article", {}).get("title", article.title))
            article.text = str(body.get("article", {}).get("text", article.text))
        if self.platform.answer_updates_with:
            self._reply(self.platform.answer_updates_with, {"error": "oops"})
            return
        self._reply(204)

    def do_DELETE(self) -> None:
        if self.platform._token_ok(self.headers.get("Authorization", "")) is None:
            self._reply(401, {"error": "unauthorized"})
            return
        prefix = "/api/Article/Delete/"
        if not self.path.startswith(prefix):
            self._reply(404, {"error": "not found"})
            return
        if self._hidden(self.path[len(prefix) :]):
            return
        self._reply(204 if self.platform._delete(self.path[len(prefix) :]) else 404)

    def do_GET(self) -> None:
        if self.platform._token_ok(self.headers.get("Authorization", "")) is None:
            self._reply(401, {"error": "unauthorized"})
            return
        if self.path == "/api/Topic/Trending":
            self._reply(200, self.platform.trending)
            return
        prefix = "/api/Article/"
        if self.path.startswith(prefix) and self._hidden(self.path[len(prefix) :]):
            return
        article = self.platform._find(self.path[len(prefix) :]) if self.path.startswith(prefix) else None
        if article is None or self.headers.get("X-Version") != "2.0":
            self._reply(404, {"error": "not found"})
            return
        emoji = dict.fromkeys(["like", "dislike", "laugh", "money", "shock", "cry", "think", "angry"], 0)
        self._reply(
            200,
            {
                "id": article.id,
                "emojiCount": emoji,
                "commentCount": 0,
                "collectedCount": 0,
                "donation": 0,
                "creatorId": 1,
            },
        )
