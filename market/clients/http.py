"""What the market-data and news clients share: the errors they raise and one way to make a request."""

from __future__ import annotations

import re
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from config.exceptions import ServiceError

_HEADERS = {"User-Agent": "KOLStudio/1 (+market data)", "Accept": "application/json, */*;q=0.5"}
_BODY_EXCERPT = 200
_TAGS = re.compile(r"<[^>]+>")


class MarketDataError(ServiceError):
    """A market-data or news source failed. ``source`` names it ("TWSE", "TPEx", "Serper", a feed URL)."""

    code = "market_data_error"
    status_code = 502

    def __init__(self, message: str, *, source: str = "", code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.source = source


class SourceRequestFailed(MarketDataError):
    """The source could not be reached, timed out, or answered with an HTTP error status."""

    code = "market_source_request_failed"


class SourceResponseInvalid(MarketDataError):
    """The source answered, but not in the shape we know: not JSON, not a list, a field missing or unreadable."""

    code = "market_source_response_invalid"


class SourceBlocked(MarketDataError):
    """The source refused us with a page instead of data (TWSE answers a blocked client with HTTP 200 and an
    HTML "FOR SECURITY REASONS" page): nothing is wrong with the data, so the fetch is tried again later."""

    code = "market_source_blocked"
    status_code = 503


class SourceNotConfigured(MarketDataError):
    """The source needs a setting (an API key) that is empty."""

    code = "market_source_not_configured"
    status_code = 400


def excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _BODY_EXCERPT else text[:_BODY_EXCERPT] + "…"


def request(method: str, url: str, *, source: str, **kwargs: Any) -> httpx.Response:
    """One HTTP request with the configured timeout; every failure becomes a SourceRequestFailed."""
    seconds = settings.MARKET_HTTP_TIMEOUT_SECONDS
    try:
        with httpx.Client(timeout=httpx.Timeout(seconds), headers=_HEADERS, follow_redirects=True) as client:
            response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise SourceRequestFailed(
            _("%(source)s did not answer within %(seconds)s seconds (%(url)s).")
            % {"source": source, "seconds": seconds, "url": url},
            source=source,
        ) from exc
    except httpx.HTTPError as exc:
        raise SourceRequestFailed(
            _("%(source)s could not be reached (%(url)s): %(error)s.")
            % {"source": source, "url": url, "error": str(exc) or type(exc).__name__},
            source=source,
        ) from exc
    if response.is_error:
        raise SourceRequestFailed(
            _("%(source)s answered HTTP %(status)s (%(url)s): %(body)s")
            % {"source": source, "status": response.status_code, "url": url, "body": excerpt(response.text)},
            source=source,
        )
    return response


_BLOCK_MARKERS = ("FOR SECURITY REASONS", "因為安全性考量")


def _raise_if_blocked(response: httpx.Response, *, source: str, url: str) -> None:
    text = response.text
    if any(marker in text for marker in _BLOCK_MARKERS) or (
        "html" in response.headers.get("content-type", "").lower() and text.lstrip().startswith("<")
    ):
        raise SourceBlocked(
            _(
                "%(source)s answered with a web page instead of data: blocked or down for maintenance, "
                "tried again later (%(url)s): %(body)s"
            )
            % {"source": source, "url": url, "body": excerpt(_TAGS.sub(" ", text))},
            source=source,
        )


def request_json(method: str, url: str, *, source: str, **kwargs: Any) -> Any:
    """The JSON answer; a block page served with HTTP 200 is SourceBlocked, other non-JSON SourceResponseInvalid."""
    response = request(method, url, source=source, **kwargs)
    _raise_if_blocked(response, source=source, url=url)
    try:
        return response.json()
    except ValueError as exc:
        raise SourceResponseInvalid(
            _("%(source)s did not answer with JSON (%(url)s): %(body)s")
            % {"source": source, "url": url, "body": excerpt(response.text)},
            source=source,
        ) from exc
