"""Generic webhook: a JSON POST signed with HMAC-SHA256, for platforms other than CMoney.

The receiver checks ``X-KOL-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<raw body>"``
under the shared secret, with the timestamp from ``X-KOL-Timestamp`` (Unix seconds; reject old ones to
stop replays). ``Idempotency-Key`` is stable per publication, so a receiver that honours it can drop a
repeat; we still never re-send a create whose outcome is unknown. A 2xx answer may carry JSON
``{"id": ..., "url": ...}``; both are optional.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from posting.publishing.clients.cmoney import PlatformError, retry_after_seconds

SIGNATURE_HEADER = "X-KOL-Signature"
TIMESTAMP_HEADER = "X-KOL-Timestamp"
EVENT_HEADER = "X-KOL-Event"
_CONNECT_PHASE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class WebhookError(PlatformError):
    """A webhook request that did not succeed."""


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookClient:
    def __init__(
        self,
        *,
        url: str | None = None,
        secret: str | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url if url is not None else settings.WEBHOOK_URL
        self.secret = secret if secret is not None else settings.WEBHOOK_SECRET
        if not self.url or not self.secret:
            raise WebhookError(_("The webhook is not configured: set WEBHOOK_URL and WEBHOOK_SECRET."))
        self.timeout = timeout or settings.WEBHOOK_TIMEOUT_SECONDS
        self.transport = transport
        # The status of the last answer, for the attempt record.
        self.last_status: int | None = None

    def send(self, *, event: str, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """POST ``{"event": ..., **payload}``; the JSON answer (or {} when it has none)."""
        body = json.dumps({"event": event, **payload}, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret=self.secret, timestamp=timestamp, body=body),
            "Idempotency-Key": idempotency_key,
        }
        self.last_status = None
        response = self._post(body, headers, event)
        self.last_status = response.status_code
        if not response.is_success:
            raise WebhookError(
                _("Webhook %(event)s: the receiver answered HTTP %(status)s.")
                % {"event": event, "status": response.status_code},
                status=response.status_code,
                uncertain=response.status_code >= 500,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if not response.content.strip():
            return {}
        try:
            data = response.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _post(self, body: bytes, headers: dict[str, str], event: str) -> httpx.Response:
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                return client.post(self.url, content=body, headers=headers)
        except _CONNECT_PHASE as exc:
            raise WebhookError(
                _("Webhook %(event)s: could not connect (%(error)s).")
                % {"event": event, "error": type(exc).__name__}
            ) from exc
        except httpx.HTTPError as exc:
            raise WebhookError(
                _("Webhook %(event)s: no complete answer after the request was sent (%(error)s).")
                % {"event": event, "error": type(exc).__name__},
                uncertain=True,
            ) from exc
