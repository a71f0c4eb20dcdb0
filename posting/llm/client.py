"""Chat Completions client for any OpenAI-compatible server (OpenAI, DeepSeek, Kimi, vLLM, Ollama).

``LLMClient.generate(messages=...)`` returns a validated draft (title, body, stance, tags) with the
tokens, latency and cost it took, or raises a typed ``LLMError`` whose ``retryable`` says whether the
same call may succeed later (429, 5xx, timeouts, connection errors) or not (4xx, unusable output).

Structured output steps down per server: ``json_schema`` (response_format with our schema), then
``json_object``, then ``prompt`` (no response_format). Every mode also states the JSON shape in the
system message, so a server that ignores response_format still gets asked for JSON. A 400 that names
response_format steps down once for that call.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

import httpx
import openai
from django.utils.translation import gettext as _

from posting.llm.config import (
    CallOptions,
    LLMConfig,
    Price,
    call_options_for,
)
from posting.llm.errors import (
    LLMConnectionError,
    LLMEmptyError,
    LLMError,
    LLMOutputError,
    LLMRateLimitedError,
    LLMRefusedError,
    LLMRequestError,
    LLMServerError,
    LLMTimeoutError,
    LLMTruncatedError,
    LLMUsage,
    _FormatRejected,
)
from posting.llm.output import (
    DRAFT_SCHEMA,
    FORMAT_INSTRUCTION,
    DraftInvalid,
    LLMDraft,
    parse_draft,
    strip_reasoning,
)

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion
    from openai.types.completion_usage import CompletionUsage


logger = logging.getLogger(__name__)
_Parsed = TypeVar("_Parsed")

Message = dict[str, str]

_STEP_DOWN = {"json_schema": "json_object", "json_object": "prompt"}
_MILLION = Decimal(1_000_000)
_COST_STEP = Decimal("0.000001")

REPAIR_REQUEST = (
    "你上一則回覆無法使用：{error}。請修正後重新回覆，只輸出一個符合格式的 JSON 物件"
    "（欄位 title、body、stance、tags），不要任何其他文字。"
)


# --- Errors -----------------------------------------------------------------------------------------


# --- Configuration ----------------------------------------------------------------------------------


# --- Results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LLMResult:
    draft: LLMDraft
    model: str
    structured_output: str
    repaired: bool
    usage: LLMUsage

    @property
    def prompt_tokens(self) -> int | None:
        return self.usage.prompt_tokens

    @property
    def completion_tokens(self) -> int | None:
        return self.usage.completion_tokens

    @property
    def cost_usd(self) -> Decimal | None:
        return self.usage.cost_usd

    @property
    def latency_ms(self) -> int:
        return self.usage.latency_ms


class _Meter:
    """Adds up every HTTP call of one generate(): retries and the repair re-ask cost money too."""

    def __init__(self, *, model: str, prices: Mapping[str, Price]) -> None:
        self.model = model
        self.price = prices.get(model)
        self.started = time.monotonic()
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.tokens_known = True

    def record(self, usage: CompletionUsage | None) -> None:
        self.calls += 1
        if usage is None or usage.prompt_tokens is None or usage.completion_tokens is None:
            self.tokens_known = False
            return
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens

    def usage(self) -> LLMUsage:
        known = self.tokens_known and self.calls > 0
        prompt = self.prompt_tokens if known else None
        completion = self.completion_tokens if known else None
        cost = None
        if self.price is not None and prompt is not None and completion is not None:
            total = prompt * self.price.input + completion * self.price.output
            cost = (total / _MILLION).quantize(_COST_STEP, rounding=ROUND_HALF_UP)
        latency = round((time.monotonic() - self.started) * 1000)
        return LLMUsage(self.calls, prompt, completion, cost, latency)


# --- The client -------------------------------------------------------------------------------------


class LLMClient:
    def __init__(
        self,
        config: LLMConfig,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``http_client`` lets tests route the SDK through an ``httpx.MockTransport``; ``sleep`` the waits."""
        self.config = config
        self._sleep = sleep
        self._host = urlsplit(config.base_url).netloc or config.base_url
        self._sdk = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            timeout=config.timeout_seconds,
            max_retries=0,
            # The SDK accepts a classic httpx.Client at run time although its annotation names httpx2's.
            http_client=cast(Any, http_client),
        )

    @classmethod
    def from_settings(cls, *, http_client: httpx.Client | None = None) -> LLMClient:
        return cls(LLMConfig.from_settings(), http_client=http_client)

    def __repr__(self) -> str:
        return f"<LLMClient {self._host} model={self.config.model}>"

    def generate(self, *, messages: Sequence[Message], options: CallOptions | None = None) -> LLMResult:
        options = options or call_options_for(config=self.config)
        meter = _Meter(model=options.model, prices=self.config.prices)
        try:
            return self._generate(list(messages), options, meter)
        except LLMError as error:
            error.usage = meter.usage()
            raise

    def _complete_parsed(
        self,
        conversation: list[Message],
        options: CallOptions,
        meter: _Meter,
        *,
        parse: Callable[[str], _Parsed],
        invalid: type[Exception],
        repair_request: str,
        still_invalid: str,
    ) -> tuple[_Parsed, str, bool]:
        """Ask, parse the answer, and on an ``invalid`` answer ask once for a repair with the reason.

        Returns what was parsed, the structured-output mode that answered and whether a repair was needed;
        an answer still invalid after the repair is an LLMOutputError (``still_invalid`` % {"error"}).
        """
        mode, content = self._complete(conversation, options, self.config.structured_output, meter)
        try:
            return parse(content), mode, False
        except invalid as problem:
            logger.info("LLM answer invalid (%s); asking once for a repair", problem)
            conversation += [
                {"role": "assistant", "content": content},
                {"role": "user", "content": repair_request.format(error=problem)},
            ]
        mode, content = self._complete(conversation, options, mode, meter)
        try:
            return parse(content), mode, True
        except invalid as again:
            raise LLMOutputError(still_invalid % {"error": again}) from again

    def _generate(self, messages: list[Message], options: CallOptions, meter: _Meter) -> LLMResult:
        draft, mode, repaired = self._complete_parsed(
            with_format_instruction(messages),
            options,
            meter,
            parse=parse_draft,
            invalid=DraftInvalid,
            repair_request=REPAIR_REQUEST,
            still_invalid=_(
                "The model's answer was not a valid post, even after one repair request: %(error)s"
            ),
        )
        usage = meter.usage()
        logger.info(
            "LLM draft from %s (%s): %s+%s tokens, %d ms, %d call(s)",
            options.model,
            mode,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.latency_ms,
            usage.calls,
        )
        return LLMResult(
            draft=draft, model=options.model, structured_output=mode, repaired=repaired, usage=usage
        )

    def _complete(
        self, conversation: list[Message], options: CallOptions, mode: str, meter: _Meter
    ) -> tuple[str, str]:
        """One answer's text, stepping down once when the server rejects the structured-output mode."""
        try:
            completion = self._create(conversation, options, mode, meter)
        except _FormatRejected:
            lower = _STEP_DOWN[mode]
            logger.warning("%s rejected response_format %s; stepping down to %s", self._host, mode, lower)
            mode = lower
            try:
                completion = self._create(conversation, options, mode, meter)
            except _FormatRejected as again:
                raise again.error from None
        return mode, answer_text(completion)

    def _create(
        self, conversation: list[Message], options: CallOptions, mode: str, meter: _Meter
    ) -> ChatCompletion:
        """One completion, retrying 429/5xx/timeouts/connection errors with backoff or Retry-After."""
        attempt = 0
        while True:
            try:
                completion = self._sdk.chat.completions.create(**self._request(conversation, options, mode))
            except openai.OpenAIError as exc:
                error = self._translate(exc, mode)
                delay = self._retry_delay(exc, error, attempt)
                if delay is None:
                    # Not chained: the SDK's exception holds the server's raw text, which may echo the key.
                    raise error from None
                attempt += 1
                logger.warning(
                    "LLM call to %s failed (%s); retry %d of %d in %.1f s",
                    self._host,
                    error.code,
                    attempt,
                    self.config.max_retries,
                    delay,
                )
                self._sleep(delay)
                continue
            meter.record(completion.usage)
            return completion

    def _request(self, conversation: list[Message], options: CallOptions, mode: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": options.model,
            "messages": conversation,
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
        }
        if mode == "json_schema":
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "forum_post", "strict": True, "schema": DRAFT_SCHEMA},
            }
        elif mode == "json_object":
            request["response_format"] = {"type": "json_object"}
        return request

    def _redact(self, text: str) -> str:
        # Some servers echo the key they were sent in their error message.
        return text.replace(self.config.api_key, "***") if self.config.api_key else text

    def _translate(self, exc: openai.OpenAIError, mode: str) -> LLMError:
        host = self._host
        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeoutError(
                _("The LLM server %(host)s did not answer within %(seconds)s seconds.")
                % {"host": host, "seconds": self.config.timeout_seconds}
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMConnectionError(
                _("Could not reach the LLM server %(host)s: %(error)s")
                % {"host": host, "error": self._redact(str(exc.__cause__ or exc))}
            )
        if not isinstance(exc, openai.APIStatusError):
            return LLMError(_("The LLM client failed: %(error)s") % {"error": self._redact(str(exc))})
        status = exc.status_code
        detail = self._redact(str(exc.message))[:300]
        values = {"host": host, "status": status, "detail": detail}
        if status == 429:
            return LLMRateLimitedError(
                _("The LLM server %(host)s is rate limiting (429): %(detail)s") % values, http_status=status
            )
        if status == 408:
            return LLMTimeoutError(
                _("The LLM server %(host)s timed out (408): %(detail)s") % values, http_status=status
            )
        if status >= 500:
            return LLMServerError(
                _("The LLM server %(host)s failed (%(status)s): %(detail)s") % values, http_status=status
            )
        error = LLMRequestError(
            _("The LLM server %(host)s refused the request (%(status)s): %(detail)s") % values,
            http_status=status,
        )
        if status in (400, 422) and mode in _STEP_DOWN and _names_response_format(exc):
            raise _FormatRejected(error)
        return error

    def _retry_delay(self, exc: openai.OpenAIError, error: LLMError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if not error.retryable or attempt >= self.config.max_retries:
            return None
        if isinstance(exc, openai.APIStatusError):
            asked = retry_after_seconds(exc.response.headers)
            if asked is not None:
                return asked if asked <= self.config.retry_after_max_seconds else None
        # Jitter spreads out the retries of concurrent batch items that failed together.
        return self.config.backoff_seconds * (2**attempt) * (0.5 + random.random() / 2)  # noqa: S311


def _names_response_format(exc: openai.APIStatusError) -> bool:
    text = f"{exc.message} {json.dumps(exc.body, default=str)}".lower()
    return any(
        word in text for word in ("response_format", "json_schema", "json_object", "structured output")
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms`` (OpenAI), or ``Retry-After`` in seconds or as an HTTP date."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        with suppress(ValueError):  # not a number: fall back to Retry-After
            return max(0.0, float(milliseconds) / 1000)
    value = headers.get("retry-after")
    if not value:
        return None
    with suppress(ValueError):  # not seconds: it may be an HTTP date
        return max(0.0, float(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - dt.datetime.now(tz=dt.UTC)).total_seconds())


def with_format_instruction(messages: list[Message]) -> list[Message]:
    """Fold the output format into the first system message (some chat templates allow only one, first)."""
    if messages and messages[0].get("role") == "system":
        first = {**messages[0], "content": f"{messages[0]['content']}\n\n{FORMAT_INSTRUCTION}"}
        return [first, *messages[1:]]
    return [{"role": "system", "content": FORMAT_INSTRUCTION}, *messages]


def answer_text(completion: ChatCompletion) -> str:
    if not completion.choices:
        raise LLMEmptyError(_("The LLM answered with no choices."))
    choice = completion.choices[0]
    if choice.finish_reason == "length":
        raise LLMTruncatedError(
            _("The LLM answer was cut off at the token limit (finish_reason=length); raise max tokens.")
        )
    if choice.finish_reason == "content_filter":
        raise LLMRefusedError(_("The LLM server's content filter stopped the answer."))
    refusal = getattr(choice.message, "refusal", None)
    if refusal:
        raise LLMRefusedError(_("The model declined: %(refusal)s") % {"refusal": str(refusal)[:300]})
    content = choice.message.content
    if content is None or not strip_reasoning(content).strip():
        raise LLMEmptyError(_("The LLM answered with empty content."))
    return content
