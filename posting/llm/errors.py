"""What an LLM call can go wrong with, typed: each error says whether the same call may succeed later
(retryable) and what it had consumed (usage).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from config.exceptions import ServiceError


@dataclass(frozen=True)
class LLMUsage:
    """What a generate() call consumed. Tokens and cost are None when unknown (never estimated)."""

    calls: int
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: Decimal | None
    latency_ms: int


class LLMError(ServiceError):
    code = "llm_error"
    status_code = 502
    retryable = False

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.usage: LLMUsage | None = None


class LLMNotConfiguredError(LLMError):
    code = "llm_not_configured"
    status_code = 503


class LLMRequestError(LLMError):
    """The server refused the request (4xx other than 429): sending it again will not help."""

    code = "llm_request_refused"


class LLMRateLimitedError(LLMError):
    code = "llm_rate_limited"
    retryable = True


class LLMServerError(LLMError):
    code = "llm_server_error"
    retryable = True


class LLMTimeoutError(LLMError):
    code = "llm_timeout"
    retryable = True


class LLMConnectionError(LLMError):
    code = "llm_connection_error"
    retryable = True


class LLMOutputError(LLMError):
    """The answer was not a valid post, even after one repair re-ask."""

    code = "llm_invalid_output"


class LLMTruncatedError(LLMError):
    """finish_reason == "length": a cut-off post is never a draft."""

    code = "llm_truncated"


class LLMEmptyError(LLMError):
    code = "llm_empty"


class LLMRefusedError(LLMError):
    """The model or the server's content filter declined to answer."""

    code = "llm_refused"


class _FormatRejected(Exception):
    """Internal: the server rejected response_format; the caller steps down one mode."""

    def __init__(self, error: LLMError) -> None:
        super().__init__(error.message)
        self.error = error
