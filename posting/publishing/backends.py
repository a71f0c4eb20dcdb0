"""Publishers: how one publication reaches a platform, or (dry run) is only recorded.

Every publisher has the same small interface: ``request()`` (exactly what a create sends, for the
record), ``create()``, ``delete()`` and ``look_up()``. Each HTTP exchange is appended to ``exchanges``
so the outbox can store it as a PublishAttempt; a failure is a :class:`SendFailed` whose ``outcome``
says what may be done next:

* ``retryable``: the platform certainly did not act (no connection, 429, a refused login);
* ``permanent``: it refused the request (4xx other than 429, 401 after a fresh login);
* ``unknown``: it may have acted (a timeout after sending, a 5xx, an answer we cannot read).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from kols.crypto import Secret
from kols.models import KOL, Platform, PlatformAccount
from posting.models import Backend, Post, PublishAttempt
from posting.publishing import accounts
from posting.publishing.clients.cmoney import (
    Article,
    CMoneyClient,
    PlatformError,
    Topic,
    article_url,
    create_body,
    update_body,
)
from posting.publishing.clients.webhook import WebhookClient
from posting.tags import TagError, bare_stock_code, commodity_tags_build

T = TypeVar("T")
Outcome = PublishAttempt.Outcome
Kind = PublishAttempt.Kind


@dataclass(frozen=True)
class Outgoing:
    """What one publication sends: the approved text, its tags and topic."""

    publication_id: int
    post_id: str
    kol_serial: str
    kol_nickname: str
    title: str
    text: str
    commodity_tags: list[dict[str, Any]]
    topic_id: str


@dataclass(frozen=True)
class Exchange:
    kind: str
    outcome: str
    started_at: Any
    duration_ms: int
    http_status: int | None = None
    error: str = ""
    dry_run: bool = False


@dataclass(frozen=True)
class Sent:
    platform_post_id: str
    url: str


class SendFailed(Exception):
    def __init__(
        self,
        message: str,
        *,
        outcome: str,
        http_status: int | None = None,
        retry_after: float | None = None,
        auth: bool = False,
        account_paused: bool = False,
        not_found: bool = False,
        config: bool = False,
        hidden: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.outcome = outcome
        self.http_status = http_status
        self.retry_after = retry_after
        self.auth = auth
        self.account_paused = account_paused
        self.not_found = not_found
        # Our configuration was refused (sending is halted; no account is paused).
        self.config = config
        # The article exists but is hidden by moderation (CMoney's 404 「紅標」).
        self.hidden = hidden


def outgoing_for(*, publication_id: int, post: Post) -> Outgoing:
    """The post as the platform gets it. Tags must be bare stock codes; bad tags fail before any send."""
    return Outgoing(
        publication_id=publication_id,
        post_id=str(post.pk),
        kol_serial=post.kol.serial,
        kol_nickname=post.kol.nickname,
        title=post.title,
        text=post.body,
        commodity_tags=_tags(post),
        topic_id=post.topic_id.strip(),
    )


def _tags(post: Post) -> list[dict[str, Any]]:
    if not post.commodity_tags:
        return commodity_tags_build(stock_codes=[post.stock.code]) if post.stock else []
    tags: list[dict[str, Any]] = []
    for tag in post.commodity_tags:
        if not isinstance(tag, dict) or not tag.get("type") or not tag.get("key"):
            raise TagError(_("A commodity tag is not {type, key}: %(tag)r") % {"tag": tag})
        if tag["type"] == "Stock":
            tag = {**tag, "key": bare_stock_code(str(tag["key"]))}
        tags.append(tag)
    return tags


class Publisher(abc.ABC):
    backend: str = ""
    dry_run = False

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        # Set the moment a create request is about to leave: from then on a failure may hide a success.
        self.create_started = False
        # Called at that moment too (the outbox records it: the account's pace counts from departures).
        self.on_departure: Callable[[], None] = lambda: None
        # Set by look_up when the platform has the article but hides it (red-flagged by moderation).
        self.hidden = False

    @abc.abstractmethod
    def request(self, outgoing: Outgoing) -> dict[str, Any]:
        """Exactly what a create sends (method, URL, body; never a credential), for the record."""

    @abc.abstractmethod
    def create(self, outgoing: Outgoing) -> Sent: ...

    @abc.abstractmethod
    def request_update(self, outgoing: Outgoing, platform_post_id: str) -> dict[str, Any]:
        """Exactly what an edit of the published article sends, for the record."""

    @abc.abstractmethod
    def update(self, outgoing: Outgoing, platform_post_id: str) -> Sent:
        """Push the approved title and text to the article already published (tags cannot change)."""

    @abc.abstractmethod
    def delete(self, platform_post_id: str) -> None: ...

    @abc.abstractmethod
    def look_up(self, platform_post_id: str) -> bool:
        """True when the platform has the article, False when it says it has not; SendFailed otherwise."""

    def _exchange(self, kind: str, call: Callable[[], T], classify: Callable[[PlatformError], str]) -> T:
        """Run one request, recording it (time, status, duration, error) whatever happens."""
        started, clock = timezone.now(), time.monotonic()
        try:
            result = call()
        except PlatformError as error:
            outcome = classify(error)
            self._note(kind, outcome, started, clock, error.status, error.message)
            raise SendFailed(
                error.message,
                outcome=outcome,
                http_status=error.status,
                retry_after=error.retry_after,
                auth=error.auth,
                not_found=error.not_found,
                config=error.config,
                hidden=error.hidden,
            ) from error
        self._note(
            kind, Outcome.OK, started, clock, getattr(getattr(self, "client", None), "last_status", None), ""
        )
        return result

    def _note(
        self, kind: str, outcome: str, started: Any, clock: float, status: int | None, error: str
    ) -> None:
        duration = int((time.monotonic() - clock) * 1000)
        self.exchanges.append(Exchange(kind, outcome, started, duration, status, error, self.dry_run))


def _create_outcome(error: PlatformError) -> str:
    if error.uncertain:
        return Outcome.UNKNOWN
    if error.status is None or error.rate_limited:
        return Outcome.RETRYABLE
    return Outcome.PERMANENT


def _safe_outcome(error: PlatformError) -> str:
    """For requests that may be repeated safely (log in, read, delete): only a refusal is permanent."""
    if error.status is None or error.uncertain or error.rate_limited:
        return Outcome.RETRYABLE
    return Outcome.PERMANENT


def _cmoney_request(outgoing: Outgoing, forum_base_url: str) -> dict[str, Any]:
    body = create_body(
        title=outgoing.title,
        text=outgoing.text,
        commodity_tags=outgoing.commodity_tags,
        topic_id=outgoing.topic_id,
    )
    return {"method": "POST", "url": f"{forum_base_url}/api/Article/Create", "body": body}


def _cmoney_update_request(outgoing: Outgoing, forum_base_url: str, platform_post_id: str) -> dict[str, Any]:
    body = update_body(title=outgoing.title, text=outgoing.text)
    return {"method": "PUT", "url": f"{forum_base_url}/api/Article/Update/{platform_post_id}", "body": body}


def _webhook_payload(outgoing: Outgoing) -> dict[str, Any]:
    return {
        "publication_id": outgoing.publication_id,
        "post_id": outgoing.post_id,
        "kol": {"serial": outgoing.kol_serial, "nickname": outgoing.kol_nickname},
        "title": outgoing.title,
        "text": outgoing.text,
        "commodityTags": outgoing.commodity_tags,
        "communityTopic": {"id": outgoing.topic_id} if outgoing.topic_id else None,
    }


def _webhook_request(outgoing: Outgoing, url: str) -> dict[str, Any]:
    return {"method": "POST", "url": url, "body": {"event": "post.publish", **_webhook_payload(outgoing)}}


class CMoneyPublisher(Publisher):
    backend = Backend.CMONEY

    def __init__(self, account: PlatformAccount, client: CMoneyClient | None = None) -> None:
        super().__init__()
        self.account = account
        self.client = client or CMoneyClient()

    def request(self, outgoing: Outgoing) -> dict[str, Any]:
        return _cmoney_request(outgoing, self.client.forum_base_url)

    # --- Token ----------------------------------------------------------------------------------------

    def _login(self) -> Secret:
        try:
            token = self._exchange(
                Kind.LOGIN,
                lambda: self.client.login(account=self.account.login, password=self.account.password),
                _safe_outcome,
            )
        except SendFailed as failure:
            if failure.config:
                # Nothing left and no account is at fault: halt every send until the operator fixes it.
                accounts.platform_halt(platform=self.backend, reason=failure.message)
                failure.outcome = Outcome.RETRYABLE
            elif failure.auth:
                failure.account_paused = accounts.account_auth_failed(
                    account=self.account, message=failure.message
                )
                failure.outcome = Outcome.PERMANENT
            raise
        accounts.account_token_save(account=self.account, token=token.value, expires_at=token.expires_at)
        return token.value

    def _with_token(
        self, kind: str, call: Callable[[Secret], T], classify: Callable[[PlatformError], str]
    ) -> T:
        """Call with the cached token (logging in when there is none); on 401 log in once more and call
        again. A 401 right after a fresh login is final and counts as an authentication failure."""
        token = accounts.account_cached_token(account=self.account) or self._login()
        try:
            return self._exchange(kind, lambda: call(token), classify)
        except SendFailed as failure:
            if not failure.auth:
                raise
        accounts.account_token_forget(account=self.account)
        fresh = self._login()
        try:
            return self._exchange(kind, lambda: call(fresh), classify)
        except SendFailed as failure:
            if not failure.auth:
                raise
            message = _(
                "CMoney refused the request with HTTP 401 even right after a fresh login: %(error)s"
            ) % {"error": failure.message}
            paused = accounts.account_auth_failed(account=self.account, message=message)
            raise SendFailed(
                message, outcome=Outcome.PERMANENT, http_status=401, auth=True, account_paused=paused
            ) from failure

    # --- Operations -----------------------------------------------------------------------------------

    def create(self, outgoing: Outgoing) -> Sent:
        def call(token: Secret) -> Article:
            self.create_started = True
            self.on_departure()
            return self.client.create_article(
                token=token,
                title=outgoing.title,
                text=outgoing.text,
                commodity_tags=outgoing.commodity_tags,
                topic_id=outgoing.topic_id,
            )

        article = self._with_token(Kind.CREATE, call, _create_outcome)
        accounts.account_auth_succeeded(account=self.account)
        return Sent(platform_post_id=article.id, url=article.url)

    def request_update(self, outgoing: Outgoing, platform_post_id: str) -> dict[str, Any]:
        return _cmoney_update_request(outgoing, self.client.forum_base_url, platform_post_id)

    def update(self, outgoing: Outgoing, platform_post_id: str) -> Sent:
        def call(token: Secret) -> None:
            # Same rule as a create: once the request left, a failure may hide a success.
            self.create_started = True
            self.on_departure()
            self.client.update_article(
                token=token, article_id=platform_post_id, title=outgoing.title, text=outgoing.text
            )

        self._with_token(Kind.UPDATE, call, _create_outcome)
        accounts.account_auth_succeeded(account=self.account)
        return Sent(platform_post_id=platform_post_id, url=article_url(platform_post_id))

    def trending_topics(self) -> list[Topic]:
        """The community's trending topics, read with this account's token."""
        return self._with_token(
            Kind.LOOKUP, lambda token: self.client.trending_topics(token=token), _safe_outcome
        )

    def delete(self, platform_post_id: str) -> None:
        self._with_token(
            Kind.DELETE,
            lambda token: self.client.delete_article(token=token, article_id=platform_post_id),
            _safe_outcome,
        )

    def look_up(self, platform_post_id: str) -> bool:
        """True when the article exists, including one hidden by moderation (``self.hidden`` is then set)."""
        try:
            self._with_token(
                Kind.LOOKUP,
                lambda token: self.client.article_detail(token=token, article_id=platform_post_id),
                _safe_outcome,
            )
        except SendFailed as failure:
            if failure.hidden:
                self.hidden = True
                return True
            if failure.not_found:
                return False
            raise
        return True


class WebhookPublisher(Publisher):
    backend = Backend.WEBHOOK

    def __init__(self, client: WebhookClient | None = None) -> None:
        super().__init__()
        self.client = client or WebhookClient()

    def request(self, outgoing: Outgoing) -> dict[str, Any]:
        return _webhook_request(outgoing, self.client.url)

    def create(self, outgoing: Outgoing) -> Sent:
        def call() -> dict[str, Any]:
            self.create_started = True
            self.on_departure()
            return self.client.send(
                event="post.publish",
                payload=_webhook_payload(outgoing),
                idempotency_key=f"publication-{outgoing.publication_id}",
            )

        answer = self._exchange(Kind.CREATE, call, _create_outcome)
        return Sent(platform_post_id=str(answer.get("id") or ""), url=str(answer.get("url") or ""))

    def request_update(self, outgoing: Outgoing, platform_post_id: str) -> dict[str, Any]:
        body = {"event": "post.update", "platform_post_id": platform_post_id, **_webhook_payload(outgoing)}
        return {"method": "POST", "url": self.client.url, "body": body}

    def update(self, outgoing: Outgoing, platform_post_id: str) -> Sent:
        def call() -> dict[str, Any]:
            self.create_started = True
            self.on_departure()
            return self.client.send(
                event="post.update",
                payload={"platform_post_id": platform_post_id, **_webhook_payload(outgoing)},
                idempotency_key=f"publication-{outgoing.publication_id}",
            )

        answer = self._exchange(Kind.UPDATE, call, _create_outcome)
        return Sent(platform_post_id=platform_post_id, url=str(answer.get("url") or ""))

    def delete(self, platform_post_id: str) -> None:
        self._exchange(
            Kind.DELETE,
            lambda: self.client.send(
                event="post.delete",
                payload={"platform_post_id": platform_post_id},
                idempotency_key=f"delete-{platform_post_id}",
            ),
            _safe_outcome,
        )

    def look_up(self, platform_post_id: str) -> bool:
        raise SendFailed(
            _("A webhook receiver cannot be asked whether it has an article."), outcome=Outcome.PERMANENT
        )


class DryRunPublisher(Publisher):
    """Sends nothing. Records exactly what would have been sent (to which platform), and why it was not."""

    backend = Backend.DRY_RUN
    dry_run = True

    def __init__(self, *, reason: str, platform: str) -> None:
        super().__init__()
        self.reason = reason
        self.platform = platform

    def request(self, outgoing: Outgoing) -> dict[str, Any]:
        if self.platform == Platform.WEBHOOK:
            inner = _webhook_request(outgoing, settings.WEBHOOK_URL)
        else:
            inner = _cmoney_request(outgoing, settings.CMONEY_FORUM_BASE_URL)
        return {"dry_run": True, "dry_run_reason": self.reason, "platform": self.platform, **inner}

    def create(self, outgoing: Outgoing) -> Sent:
        self._note(Kind.CREATE, Outcome.OK, timezone.now(), time.monotonic(), None, "")
        return Sent(platform_post_id="", url="")

    def request_update(self, outgoing: Outgoing, platform_post_id: str) -> dict[str, Any]:
        inner = _cmoney_update_request(outgoing, settings.CMONEY_FORUM_BASE_URL, platform_post_id)
        return {"dry_run": True, "dry_run_reason": self.reason, "platform": self.platform, **inner}

    def update(self, outgoing: Outgoing, platform_post_id: str) -> Sent:
        self._note(Kind.UPDATE, Outcome.OK, timezone.now(), time.monotonic(), None, "")
        return Sent(platform_post_id="", url="")

    def delete(self, platform_post_id: str) -> None:
        self._note(Kind.DELETE, Outcome.OK, timezone.now(), time.monotonic(), None, "")

    def look_up(self, platform_post_id: str) -> bool:
        raise SendFailed(
            _("A dry run sent nothing, so there is nothing to look up."), outcome=Outcome.PERMANENT
        )


# --- Choosing the publisher -------------------------------------------------------------------------


def dry_run_reason(*, kol: KOL, account: PlatformAccount | None) -> str:
    """Why this KOL's account would not really send; empty when it would."""
    if account is None:
        return _("the KOL has no platform account")
    if kol.dry_run:
        return _("the KOL is set to dry run")
    if account.platform == Platform.CMONEY and not account.has_credentials:
        return _("the account has no login and password")
    if account.platform == Platform.WEBHOOK and not settings.WEBHOOK_URL:
        return _("WEBHOOK_URL is not set")
    return ""


def publisher_for(*, kol: KOL, account: PlatformAccount | None, backend: str | None = None) -> Publisher:
    """The publisher for a new send (``backend`` None), or the one an earlier send used (to delete it)."""
    reason = dry_run_reason(kol=kol, account=account)
    if backend == Backend.DRY_RUN or (backend is None and reason):
        platform = account.platform if account is not None else Platform.CMONEY
        return DryRunPublisher(reason=reason or _("it was a dry run"), platform=platform)
    if account is None:
        raise SendFailed(_("The publication's platform account no longer exists."), outcome=Outcome.PERMANENT)
    if account.platform == Platform.WEBHOOK:
        if not settings.WEBHOOK_URL:
            raise SendFailed(_("WEBHOOK_URL is not set."), outcome=Outcome.PERMANENT)
        return WebhookPublisher()
    if not account.has_credentials:
        raise SendFailed(_("The account has no login and password."), outcome=Outcome.PERMANENT)
    return CMoneyPublisher(account)
