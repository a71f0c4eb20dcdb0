"""CMoney 同學會 client: log in, create, delete and read an article (PLATFORMS.md, "The forum platform").

Every failure is a :class:`CMoneyError` (a :class:`PlatformError`) whose ``uncertain`` says whether the platform may have acted on
the request anyway (a timeout after the request left, a 5xx, a 2xx we cannot read). The platform has no
idempotency key, so a create that is uncertain must never be sent again blindly: the caller records it
as unknown. Credentials and tokens arrive as :class:`~kols.crypto.Secret` and are revealed only while
the request is built; nothing here logs a body, a header or a token.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from kols.crypto import Secret

_CONNECT_PHASE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_BODY_EXCERPT = 200


class PlatformError(Exception):
    """A request to a publishing platform that did not succeed.

    ``uncertain``: the platform may have carried it out (never re-send a create that is uncertain).
    ``auth``: the platform refused the credentials or the token.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        uncertain: bool = False,
        retry_after: float | None = None,
        auth: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.uncertain = uncertain
        self.retry_after = retry_after
        self.auth = auth or status == 401

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    @property
    def not_found(self) -> bool:
        return self.status == 404


class CMoneyError(PlatformError):
    """A CMoney request that did not succeed."""


@dataclass(frozen=True)
class Token:
    value: Secret
    expires_at: dt.datetime


@dataclass(frozen=True)
class Article:
    id: str
    url: str


def article_url(article_id: str) -> str:
    return settings.CMONEY_ARTICLE_URL.replace("{id}", article_id)


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (it may be a number of seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or timezone.now())).total_seconds())


class CMoneyClient:
    def __init__(
        self,
        *,
        identity_base_url: str | None = None,
        forum_base_url: str | None = None,
        timeout: httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.identity_base_url = (identity_base_url or settings.CMONEY_IDENTITY_BASE_URL).rstrip("/")
        self.forum_base_url = (forum_base_url or settings.CMONEY_FORUM_BASE_URL).rstrip("/")
        self.timeout = timeout or httpx.Timeout(
            settings.CMONEY_TIMEOUT_SECONDS, connect=settings.CMONEY_CONNECT_TIMEOUT_SECONDS
        )
        self.transport = transport
        # The status of the last answer, for the attempt record.
        self.last_status: int | None = None

    # --- Requests -------------------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
        """One request. Errors name ``what`` was being done; bodies are never part of a log line."""
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                response = client.request(method, url, **kwargs)
        except _CONNECT_PHASE as exc:
            self.last_status = None
            raise CMoneyError(
                _("%(what)s: could not connect to CMoney (%(error)s).")
                % {"what": what, "error": type(exc).__name__}
            ) from exc
        except httpx.TimeoutException as exc:
            self.last_status = None
            raise CMoneyError(
                _(
                    "%(what)s: no answer from CMoney within the timeout (%(error)s); the request had been sent."
                )
                % {"what": what, "error": type(exc).__name__},
                uncertain=True,
            ) from exc
        except httpx.HTTPError as exc:
            self.last_status = None
            raise CMoneyError(
                _("%(what)s: the connection to CMoney broke after the request was sent (%(error)s).")
                % {"what": what, "error": type(exc).__name__},
                uncertain=True,
            ) from exc
        self.last_status = response.status_code
        return response

    def _fail(self, response: httpx.Response, *, what: str, include_body: bool = True) -> CMoneyError:
        status = response.status_code
        excerpt = response.text[:_BODY_EXCERPT].strip() if include_body else ""
        message = _("%(what)s: CMoney answered HTTP %(status)s.") % {"what": what, "status": status}
        if excerpt:
            message = f"{message} {excerpt}"
        return CMoneyError(
            message,
            status=status,
            uncertain=status >= 500,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )

    @staticmethod
    def _json(response: httpx.Response, *, what: str, uncertain: bool) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            raise CMoneyError(
                _("%(what)s: CMoney answered %(status)s with a body that is not JSON.")
                % {"what": what, "status": response.status_code},
                status=response.status_code,
                uncertain=uncertain,
            ) from exc
        if not isinstance(data, dict):
            raise CMoneyError(
                _("%(what)s: CMoney answered with JSON that is not an object.") % {"what": what},
                status=response.status_code,
                uncertain=uncertain,
            )
        return data

    # --- Operations -----------------------------------------------------------------------------------

    def login(self, *, account: Secret, password: Secret) -> Token:
        """``POST {identity}/identity/token`` (form-encoded). 400/401 = the credentials were refused."""
        what = _("Log in")
        form = {
            "grant_type": "password",
            "login_method": "email",
            "client_id": settings.CMONEY_CLIENT_ID,
            "account": account.reveal(),
            "password": password.reveal(),
        }
        response = self._send("POST", f"{self.identity_base_url}/identity/token", what=what, data=form)
        if response.status_code in (400, 401):
            # The body may echo the account; it is left out.
            raise CMoneyError(
                _("Log in: CMoney refused the account's credentials (HTTP %(status)s).")
                % {"status": response.status_code},
                status=response.status_code,
                auth=True,
            )
        if not response.is_success:
            raise self._fail(response, what=what, include_body=False)
        data = self._json(response, what=what, uncertain=False)
        token = data.get("access_token")
        expires_in = data.get("expires_in")
        if not isinstance(token, str) or not token:
            raise CMoneyError(_("Log in: CMoney's answer has no access_token."), status=response.status_code)
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
            raise CMoneyError(
                _("Log in: CMoney's answer has no usable expires_in (seconds)."), status=response.status_code
            )
        return Token(value=Secret(token), expires_at=timezone.now() + dt.timedelta(seconds=float(expires_in)))

    def _bearer(self, token: Secret, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token.reveal()}", **extra}

    def create_article(
        self,
        *,
        token: Secret,
        title: str,
        text: str,
        commodity_tags: list[dict[str, Any]] | None = None,
        topic_id: str = "",
    ) -> Article:
        """``POST {forum}/api/Article/Create``. The new id comes back in ``id`` or ``articleId``."""
        what = _("Create article")
        body = create_body(title=title, text=text, commodity_tags=commodity_tags, topic_id=topic_id)
        response = self._send(
            "POST",
            f"{self.forum_base_url}/api/Article/Create",
            what=what,
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers=self._bearer(token, **{"Content-Type": "application/json-patch+json"}),
        )
        if not response.is_success:
            raise self._fail(response, what=what)
        # From here the article exists: anything we cannot read makes the outcome uncertain, not failed.
        data = self._json(response, what=what, uncertain=True)
        raw_id = data.get("id", data.get("articleId"))
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or str(raw_id).strip() == "":
            raise CMoneyError(
                _("Create article: CMoney answered %(status)s without an article id (fields id / articleId).")
                % {"status": response.status_code},
                status=response.status_code,
                uncertain=True,
            )
        article_id = str(raw_id).strip()
        return Article(id=article_id, url=article_url(article_id))

    def delete_article(self, *, token: Secret, article_id: str) -> None:
        """``DELETE {forum}/api/Article/Delete/{id}`` -> 204."""
        what = _("Delete article")
        response = self._send(
            "DELETE",
            f"{self.forum_base_url}/api/Article/Delete/{article_id}",
            what=what,
            headers=self._bearer(token),
        )
        if not response.is_success:
            raise self._fail(response, what=what)

    def article_detail(self, *, token: Secret, article_id: str) -> dict[str, Any]:
        """``GET {forum}/api/Article/{id}`` with ``X-Version: 2.0`` and the owner's token."""
        what = _("Read article")
        response = self._send(
            "GET",
            f"{self.forum_base_url}/api/Article/{article_id}",
            what=what,
            headers=self._bearer(token, **{"X-Version": "2.0"}),
        )
        if not response.is_success:
            raise self._fail(response, what=what)
        return self._json(response, what=what, uncertain=False)

    # --- Reads for analytics (their answers are judged by analytics/clients/cmoney.py) ----------------

    def article_read(self, *, token: Secret, article_id: str) -> httpx.Response:
        """``GET {forum}/api/Article/{id}`` with ``X-Version: 2.0``: the answer as it came, whatever its status."""
        return self._send(
            "GET",
            f"{self.forum_base_url}/api/Article/{article_id}",
            what=_("Read article"),
            headers=self._bearer(token, **{"X-Version": "2.0", "Accept": "application/json"}),
        )

    def member_info(self, *, token: Secret, member_ids: list[str]) -> httpx.Response:
        """``GET {forum}/api/Member/Info?memberIds=``: the answer as it came, whatever its status."""
        return self._send(
            "GET",
            f"{self.forum_base_url}/api/Member/Info",
            what=_("Read member totals"),
            params={"memberIds": ",".join(member_ids)},
            headers=self._bearer(token, Accept="application/json"),
        )


def create_body(
    *, title: str, text: str, commodity_tags: list[dict[str, Any]] | None = None, topic_id: str = ""
) -> dict[str, Any]:
    """The JSON body of a create, exactly as sent (also what a dry run records)."""
    body: dict[str, Any] = {"title": title, "text": text}
    if commodity_tags:
        body["commodityTags"] = commodity_tags
    if topic_id:
        body["communityTopic"] = {"id": topic_id}
    return body
