"""The webhook platform's interactions: an optional pull URL, and the signed pushes it sends us.

Both use the publishing webhook's HMAC (posting/publishing/clients/webhook.py): ``X-KOL-Signature:
sha256=<hex>`` over ``"<timestamp>.<raw body>"`` with ``X-KOL-Timestamp`` (Unix seconds). A pull is a GET
of INTERACTION_WEBHOOK_PULL_URL ({id} = the platform post id, signed over an empty body) answering JSON
``{"likes", "comments", "shares", "saves", "tips", "views", "reactions"}``; any metric may be absent.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from analytics.clients import Counts, ReadFailed, ReadGone
from posting.publishing.clients.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

METRICS = ("likes", "comments", "shares", "saves", "tips", "views")


def push_signature_valid(*, timestamp: str, body: bytes, given: str, now: float | None = None) -> bool:
    """The push carries our HMAC and a timestamp within INTERACTION_PUSH_MAX_SKEW_SECONDS of now."""
    secret = settings.WEBHOOK_SECRET
    if not secret or not timestamp.isdigit():
        return False
    if (
        abs((now if now is not None else time.time()) - int(timestamp))
        > settings.INTERACTION_PUSH_MAX_SKEW_SECONDS
    ):
        return False
    return hmac.compare_digest(signature(secret=secret, timestamp=timestamp, body=body), given)


def counts_from_json(data: dict[str, Any]) -> Counts:
    values: dict[str, int | None] = {}
    for name in METRICS:
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ReadFailed(
                _("The webhook's answer has an unreadable %(field)s: %(value)r.")
                % {"field": name, "value": value}
            )
        values[name] = value
    reactions = data.get("reactions") or {}
    if not isinstance(reactions, dict) or any(
        not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in reactions.values()
    ):
        raise ReadFailed(_("The webhook's answer has unreadable reactions."))
    return Counts(**values, reactions={str(k): v for k, v in reactions.items()}, raw=data)


class WebhookPuller:
    platform = "webhook"

    def __init__(self, *, transport: httpx.BaseTransport | None = None) -> None:
        self.url = settings.INTERACTION_WEBHOOK_PULL_URL
        self.transport = transport

    def read(self, article_id: str) -> Counts:
        timestamp = str(int(time.time()))
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret=settings.WEBHOOK_SECRET, timestamp=timestamp, body=b""),
            "Accept": "application/json",
        }
        try:
            with httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS, transport=self.transport) as client:
                response = client.get(self.url.replace("{id}", article_id), headers=headers)
        except httpx.HTTPError as exc:
            raise ReadFailed(
                _("Webhook pull: no answer (%(error)s).") % {"error": type(exc).__name__}
            ) from exc
        if response.status_code in (404, 410):
            raise ReadGone(
                _("The webhook platform has no post %(id)s any more.") % {"id": article_id}, reason="deleted"
            )
        if not response.is_success:
            raise ReadFailed(
                _("Webhook pull: HTTP %(status)s.") % {"status": response.status_code},
                status=response.status_code,
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise ReadFailed(_("Webhook pull: the answer is not JSON.")) from exc
        if not isinstance(data, dict):
            raise ReadFailed(_("Webhook pull: the answer is not a JSON object."))
        return counts_from_json(data)
