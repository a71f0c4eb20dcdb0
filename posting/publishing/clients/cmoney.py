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
_ACCEPT_JSON = {"Accept": "application/json"}


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
        auth: bool | None = None,
        config: bool = False,
        hidden: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.uncertain = uncertain
        self.retry_after = retry_after
        # None: a 401 is an authentication failure (a log-in says explicitly which refusals are).
        self.auth = status == 401 if auth is None else auth
        # Our configuration is wrong (CMoney refused the client id or grant type): no account is to blame.
        self.config = config
        # A 404 whose body says the article is red-flagged (「紅標」): it exists, hidden by moderation.
        self.hidden = hidden

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    @property
    def not_found(self) -> bool:
        """The platform has no such article. A red-flagged (hidden) article is not "not found": it exists."""
        return self.status == 404 and not self.hidden


class CMoneyError(PlatformError):
    """A CMoney request that did not succeed."""


# OAuth errors of the log-in that mean our client configuration is wrong, not the account's password.
_CONFIG_ERRORS = {"invalid_client", "unsupported_grant_type", "unauthorized_client", "invalid_scope"}
_RED_FLAG_MARKER = "紅標"
DEFAULT_TOKEN_SECONDS = 3600  # the prior system's assumption when the answer has no expires_in


@dataclass(frozen=True)
class Token:
    value: Secret
    expires_at: dt.datetime


@dataclass(frozen=True)
class Topic:
    id: str
    title: str


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
        hidden = status == 404 and _red_flagged(response)
        if hidden:
            message = _(
                "%(what)s: the article exists but CMoney hides it (red-flagged by moderation, 紅標)."
            ) % {"what": what}
        return CMoneyError(
            message,
            status=status,
            uncertain=status >= 500,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            hidden=hidden,
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
        response = self._send(
            "POST", f"{self.identity_base_url}/identity/token", what=what, data=form, headers=_ACCEPT_JSON
        )
        if response.status_code in (400, 401):
            raise _login_refused(response)
        if not response.is_success:
            raise self._fail(response, what=what, include_body=False)
        data = self._json(response, what=what, uncertain=False)
        token = data.get("access_token")
        expires_in = data.get("expires_in")
        if not isinstance(token, str) or not token:
            raise CMoneyError(_("Log in: CMoney's answer has no access_token."), status=response.status_code)
        if expires_in is None:
            expires_in = DEFAULT_TOKEN_SECONDS
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
            raise CMoneyError(
                _("Log in: CMoney's answer has no usable expires_in (seconds)."), status=response.status_code
            )
        return Token(value=Secret(token), expires_at=timezone.now() + dt.timedelta(seconds=float(expires_in)))

    def _bearer(self, token: Secret, **extra: str) -> dict[str, str]:
        """The headers of every forum request: the token, ``Accept: application/json`` and the
        ``cmoneyapi-trace-context`` CMoney's SDK documents as required on every call."""
        return {
            "Authorization": f"Bearer {token.reveal()}",
            "Accept": "application/json",
            "cmoneyapi-trace-context": settings.CMONEY_TRACE_CONTEXT,
            **extra,
        }

    def create_article(
        self,
        *,
        token: Secret,
        title: str,
        text: str,
        commodity_tags: list[dict[str, Any]] | None = None,
        topic_id: str = "",
    ) -> Article:
        """``POST {forum}/api/Article/Create``. The new id comes back as the integer ``articleId`` (the SDK's
        shape; the prior system also accepted ``id``)."""
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
        raw_id = data.get("articleId", data.get("id"))
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id).strip().isdigit():
            raise CMoneyError(
                _("Create article: CMoney answered %(status)s without an integer article id (articleId).")
                % {"status": response.status_code},
                status=response.status_code,
                uncertain=True,
            )
        article_id = str(raw_id).strip()
        return Article(id=article_id, url=article_url(article_id))

    def update_article(self, *, token: Secret, article_id: str, title: str, text: str) -> None:
        """``PUT {forum}/api/Article/Update/{id}`` -> 204: a new title and text (stock tags cannot change)."""
        what = _("Update article")
        response = self._send(
            "PUT",
            f"{self.forum_base_url}/api/Article/Update/{article_id}",
            what=what,
            content=json.dumps(update_body(title=title, text=text), ensure_ascii=False).encode(),
            headers=self._bearer(token, **{"Content-Type": "application/json"}),
        )
        if not response.is_success:
            raise self._fail(response, what=what)

    def trending_topics(self, *, token: Secret) -> list[Topic]:
        """``GET {forum}/api/Topic/Trending``: the community's trending topics a post may attach to."""
        what = _("Read trending topics")
        response = self._send(
            "GET", f"{self.forum_base_url}/api/Topic/Trending", what=what, headers=self._bearer(token)
        )
        if not response.is_success:
            raise self._fail(response, what=what)
        try:
            data = response.json()
        except ValueError as exc:
            raise CMoneyError(
                _("%(what)s: CMoney answered with a body that is not JSON.") % {"what": what},
                status=response.status_code,
            ) from exc
        return topics_from(data)

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


def _red_flagged(response: httpx.Response) -> bool:
    """CMoney's 404 for an article hidden by moderation says 「紅標」 (as UTF-8 or as a JSON \\u escape)."""
    if _RED_FLAG_MARKER in response.text:
        return True
    try:
        data = response.json()
    except ValueError:
        return False
    return _RED_FLAG_MARKER in json.dumps(data, ensure_ascii=False)


def _login_refused(response: httpx.Response) -> CMoneyError:
    """A refused log-in: ``invalid_grant`` is this account's credentials; ``invalid_client`` or
    ``unsupported_grant_type`` is our configuration (CMONEY_CLIENT_ID), which no account can fix."""
    try:
        data = response.json()
    except ValueError:
        data = {}
    error = str(data.get("error", "")) if isinstance(data, dict) else ""
    status = response.status_code
    if error in _CONFIG_ERRORS:
        # The body may echo the account; only the OAuth error code is kept.
        return CMoneyError(
            _(
                "Log in: CMoney refused our client configuration (%(error)s, HTTP %(status)s): check "
                "CMONEY_CLIENT_ID. No account is at fault."
            )
            % {"error": error, "status": status},
            status=status,
            auth=False,
            config=True,
        )
    if error == "invalid_grant" or not error:
        return CMoneyError(
            _("Log in: CMoney refused the account's credentials (HTTP %(status)s).") % {"status": status},
            status=status,
            auth=True,
        )
    return CMoneyError(
        _("Log in: CMoney refused the log-in (%(error)s, HTTP %(status)s).")
        % {"error": error[:50], "status": status},
        status=status,
        auth=False,
    )


def topics_from(data: Any) -> list[Topic]:
    """Trending topics from the answer: a list, or a list under ``topics``/``data``/``items``. Entries
    without an id or a title are left out; the shape is not documented beyond "topics"."""
    if isinstance(data, dict):
        data = next(
            (data[key] for key in ("topics", "data", "items") if isinstance(data.get(key), list)), None
        )
    if not isinstance(data, list):
        raise CMoneyError(_("Read trending topics: CMoney's answer holds no list of topics."))
    topics = []
    for entry in data:
        if not isinstance(entry, dict):
            continue
        raw_id = entry.get("id", entry.get("topicId"))
        title = next(
            (entry[key] for key in ("title", "name", "topicName") if isinstance(entry.get(key), str)), ""
        )
        if (
            isinstance(raw_id, str | int)
            and not isinstance(raw_id, bool)
            and str(raw_id).strip()
            and title.strip()
        ):
            topics.append(Topic(id=str(raw_id).strip(), title=title.strip()))
    return topics


def update_body(*, title: str, text: str) -> dict[str, Any]:
    """The JSON body of an edit, exactly as sent."""
    return {"article": {"title": title, "text": text}, "removeProperties": []}


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
