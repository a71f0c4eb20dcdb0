"""CMoney article reads for interactions (PLATFORMS.md, "Article detail / interactions").

``GET /api/Article/{id}`` with ``X-Version: 2.0``: likes = ``emojiCount.like``, every reaction kept by
type, comments = ``commentCount``, saves = ``collectedCount``, tips = ``donation``, shares =
``@hash-shared`` only when present (else empty, never 0), no views. 404 is a deleted article, unless
its body says 「紅標」: then moderation hid it (it exists; never re-send it). 401: log in once again.
429: wait as ``Retry-After`` says. Any account's token reads any article.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from django.utils.translation import gettext as _

from analytics.clients import Counts, ReadFailed, ReadGone
from kols.crypto import Secret
from kols.models import PlatformAccount
from posting.publishing import accounts
from posting.publishing.clients.cmoney import CMoneyClient, CMoneyError, retry_after_seconds

RED_FLAG = "紅標"
_SCALARS = {
    "comments": "commentCount",
    "saves": "collectedCount",
    "tips": "donation",
    "shares": "@hash-shared",
}


def _count(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReadFailed(
            _("CMoney's answer has an unreadable %(field)s: %(value)r.") % {"field": name, "value": value}
        )
    return value


def article_counts(data: dict[str, Any]) -> Counts:
    """The counts in an article answer; a field of the wrong shape fails with its name, nothing is invented."""
    emojis = data.get("emojiCount")
    if not isinstance(emojis, dict):
        raise ReadFailed(_("CMoney's answer has no emojiCount object."))
    reactions = {str(kind): _count(value, f"emojiCount.{kind}") or 0 for kind, value in emojis.items()}
    values = {name: _count(data.get(key), key) for name, key in _SCALARS.items()}
    return Counts(
        likes=_count(emojis.get("like"), "emojiCount.like"), reactions=reactions, raw=data, **values
    )


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _is_red_flag(response: httpx.Response) -> bool:
    body = _body(response)
    text = json.dumps(body, ensure_ascii=False) if body is not None else response.text
    return RED_FLAG in text


class _KeptTransport(httpx.BaseTransport):
    """One connection pool for every read, kept open across requests.

    The client opens and closes an httpx.Client per request; without a transport each one builds a fresh
    TLS context (tens of milliseconds) and a fresh connection. Reads run by the thousand, so they share
    this pool (thread-safe) and keep connections alive.
    """

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Kept open: the per-request clients must not close the shared pool."""


_transport: _KeptTransport | None = None
_transport_lock = threading.Lock()


def _shared_transport() -> _KeptTransport:
    global _transport
    with _transport_lock:
        if _transport is None:
            _transport = _KeptTransport()
        return _transport


class CMoneyReader:
    platform = "cmoney"

    def __init__(self, *, account: PlatformAccount, client: CMoneyClient | None = None) -> None:
        self.account = account
        self.client = client or CMoneyClient(transport=_shared_transport())

    def _login(self) -> Secret:
        try:
            token = self.client.login(account=self.account.login, password=self.account.password)
        except CMoneyError as error:
            if error.auth:
                accounts.account_auth_failed(account=self.account, message=error.message)
            raise ReadFailed(error.message, retry_after=error.retry_after, status=error.status) from error
        accounts.account_token_save(account=self.account, token=token.value, expires_at=token.expires_at)
        return token.value

    def _get(self, token: Secret, article_id: str) -> httpx.Response:
        try:
            return self.client.article_read(token=token, article_id=article_id)
        except CMoneyError as error:
            raise ReadFailed(error.message, status=error.status) from error

    def read(self, article_id: str) -> Counts:
        token = accounts.account_cached_token(account=self.account) or self._login()
        response = self._get(token, article_id)
        if response.status_code == 401:
            accounts.account_token_forget(account=self.account)
            response = self._get(self._login(), article_id)
            if response.status_code == 401:
                raise ReadFailed(
                    _("CMoney refused the read with HTTP 401 even right after a fresh login."), status=401
                )
        return self._judge(response, article_id)

    def _judge(self, response: httpx.Response, article_id: str) -> Counts:
        status = response.status_code
        if status == 404:
            if _is_red_flag(response):
                raise ReadGone(
                    _("CMoney hides article %(id)s (red flag, 紅標).") % {"id": article_id}, reason="hidden"
                )
            raise ReadGone(
                _("CMoney has no article %(id)s any more (404).") % {"id": article_id}, reason="deleted"
            )
        if status == 429:
            raise ReadFailed(
                _("CMoney asked to slow down (429)."),
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                status=429,
            )
        if not response.is_success:
            raise ReadFailed(
                _("Read article: CMoney answered HTTP %(status)s.") % {"status": status}, status=status
            )
        body = _body(response)
        if not isinstance(body, dict):
            raise ReadFailed(_("Read article: CMoney's answer is not a JSON object."), status=status)
        return article_counts(body)

    def member_totals(self, member_ids: list[str]) -> dict[str, dict[str, Any]]:
        """``GET /api/Member/Info``: {member id: {"followers", "articles", "raw"}} for the members found."""
        token = accounts.account_cached_token(account=self.account) or self._login()
        try:
            response = self.client.member_info(token=token, member_ids=member_ids)
            if response.status_code == 401:
                accounts.account_token_forget(account=self.account)
                response = self.client.member_info(token=self._login(), member_ids=member_ids)
        except CMoneyError as error:
            raise ReadFailed(error.message, status=error.status) from error
        if not response.is_success:
            raise ReadFailed(
                _("Read member totals: CMoney answered HTTP %(status)s.") % {"status": response.status_code},
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                status=response.status_code,
            )
        return member_totals_parse(_body(response))


# CMoney documents no field names for member totals; these are the names its SDK models use.
_MEMBER_ID = ("memberId", "id")
_FOLLOWERS = ("fansCount", "followerCount", "fans")
_ARTICLES = ("articleCount", "articlesCount")


def _first(item: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((item[name] for name in names if name in item), None)


def member_totals_parse(body: Any) -> dict[str, dict[str, Any]]:
    items = body.get("data", body.get("members")) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise ReadFailed(_("Read member totals: CMoney's answer is not a list of members."))
    found: dict[str, dict[str, Any]] = {}
    for item in items:
        if not isinstance(item, dict) or _first(item, _MEMBER_ID) is None:
            continue
        found[str(_first(item, _MEMBER_ID))] = {
            "followers": _count(_first(item, _FOLLOWERS), "fansCount"),
            "articles": _count(_first(item, _ARTICLES), "articleCount"),
            "raw": item,
        }
    return found
