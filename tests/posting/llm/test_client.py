from __future__ import annotations

import email.utils
import json
import logging
import runpy
import traceback
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured

from posting.llm.client import FORMAT_INSTRUCTION, LLMClient, retry_after_seconds
from posting.llm.config import LLMConfig, Price, call_options_for
from posting.llm.errors import (
    LLMConnectionError,
    LLMEmptyError,
    LLMError,
    LLMNotConfiguredError,
    LLMOutputError,
    LLMRateLimitedError,
    LLMRefusedError,
    LLMRequestError,
    LLMServerError,
    LLMTimeoutError,
    LLMTruncatedError,
)
from posting.llm.output import clean_body
from tests.conftest import ROOT
from tests.factories import KOLFactory
from tests.posting.fake_llm import DRAFT, FakeLLMServer, ScriptedLLM, draft_json, error, ok

API_KEY = "sk-test-secret-0123456789"
MESSAGES = [
    {"role": "system", "content": "你是老王，一位技術派投資人。"},
    {"role": "user", "content": "請寫一篇台積電的貼文。"},
]


def _config(**changes: object) -> LLMConfig:
    values: dict[str, object] = {
        "base_url": "http://llm.test/v1",
        "api_key": API_KEY,
        "model": "test-model",
        "max_retries": 2,
        "backoff_seconds": 0.5,
        "prices": {"test-model": Price(input=Decimal("0.15"), output=Decimal("0.60"))},
    }
    values.update(changes)
    return LLMConfig(**values)  # type: ignore[arg-type]


class Harness:
    def __init__(self, *steps: httpx.Response, **config: object) -> None:
        self.llm = ScriptedLLM(*steps)
        self.sleeps: list[float] = []
        self.client = LLMClient(
            _config(**config), http_client=self.llm.http_client(), sleep=self.sleeps.append
        )

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.llm.requests


# --- Structured output ------------------------------------------------------------------------------


def test_valid_json_becomes_a_draft_with_the_schema_requested() -> None:
    harness = Harness(ok(draft_json()))
    result = harness.client.generate(messages=MESSAGES)

    assert result.draft.title == DRAFT["title"]
    assert result.draft.body == DRAFT["body"]
    assert result.draft.stance == "bullish"
    assert result.draft.tags == ["2330"]
    assert result.structured_output == "json_schema"
    assert result.repaired is False
    request = harness.requests[0]
    assert request["model"] == "test-model"
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["schema"]["required"] == [
        "title",
        "body",
        "stance",
        "tags",
    ]
    assert request["messages"][0]["content"].endswith(FORMAT_INSTRUCTION)
    assert request["messages"][1] == MESSAGES[1]


def test_json_object_mode_sends_json_object_and_asks_for_json_in_the_prompt() -> None:
    harness = Harness(ok(draft_json()), structured_output="json_object")
    result = harness.client.generate(messages=MESSAGES)

    assert result.structured_output == "json_object"
    assert harness.requests[0]["response_format"] == {"type": "json_object"}
    assert "JSON" in harness.requests[0]["messages"][0]["content"]


def test_prompt_mode_sends_no_response_format_and_still_parses_the_answer() -> None:
    harness = Harness(ok("好的，以下是貼文：\n" + draft_json()), structured_output="prompt")
    result = harness.client.generate(messages=MESSAGES)

    assert "response_format" not in harness.requests[0]
    assert "JSON" in harness.requests[0]["messages"][0]["content"]
    assert result.draft.title == DRAFT["title"]
    assert result.structured_output == "prompt"


def test_a_400_rejecting_response_format_steps_down_once_to_json_object() -> None:
    rejected = error(
        400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."
    )
    harness = Harness(rejected, ok(draft_json()))
    result = harness.client.generate(messages=MESSAGES)

    assert [request.get("response_format", {}).get("type") for request in harness.requests] == [
        "json_schema",
        "json_object",
    ]
    assert result.structured_output == "json_object"
    assert harness.sleeps == []


def test_a_second_response_format_rejection_is_a_refused_request_not_another_step() -> None:
    harness = Harness(
        error(400, "response_format json_schema unsupported"),
        error(400, "response_format json_object unsupported"),
        structured_output="json_schema",
    )
    with pytest.raises(LLMRequestError) as caught:
        harness.client.generate(messages=MESSAGES)

    assert caught.value.retryable is False
    assert caught.value.http_status == 400
    assert len(harness.requests) == 2


def test_a_400_about_something_else_fails_without_stepping_down_or_retrying() -> None:
    harness = Harness(error(400, "messages: too long for context window"))
    with pytest.raises(LLMRequestError) as caught:
        harness.client.generate(messages=MESSAGES)

    assert "too long" in caught.value.message
    assert caught.value.retryable is False
    assert len(harness.requests) == 1


# --- Cleaning the answer ----------------------------------------------------------------------------


def test_a_preamble_before_the_json_and_inside_the_body_never_reaches_the_draft() -> None:
    body = "以下是以老王口吻撰寫的貼文：\n台積電今天收在104元。\n投資有風險，請自行判斷。"
    content = "Here is the post in the voice of 老王:\n\n" + draft_json(body=body)
    result = Harness(ok(content)).client.generate(messages=MESSAGES)

    assert result.draft.body == "台積電今天收在104元。\n投資有風險，請自行判斷。"


def test_fenced_json_is_unwrapped() -> None:
    content = "```json\n" + draft_json() + "\n```"
    result = Harness(ok(content)).client.generate(messages=MESSAGES)

    assert result.draft.title == DRAFT["title"]


def test_markdown_in_the_body_becomes_plain_lines() -> None:
    body = "## 今日重點\n**台積電**收在 *104* 元\n- 量能放大\n* 站上月線\n---\n> 投資有風險，請自行判斷。"
    result = Harness(ok(draft_json(body=body, title="**台積電** 觀察"))).client.generate(messages=MESSAGES)

    assert result.draft.body == "今日重點\n台積電收在 104 元\n量能放大\n站上月線\n\n投資有風險，請自行判斷。"
    assert result.draft.title == "台積電 觀察"


def test_reasoning_blocks_are_dropped() -> None:
    content = "<think>先想想要怎麼寫……</think>" + draft_json()
    result = Harness(ok(content)).client.generate(messages=MESSAGES)

    assert result.draft.body == DRAFT["body"]


# --- Answers that are not drafts --------------------------------------------------------------------


def test_a_truncated_answer_is_an_error_never_a_draft() -> None:
    harness = Harness(ok(draft_json(), finish_reason="length"))
    with pytest.raises(LLMTruncatedError) as caught:
        harness.client.generate(messages=MESSAGES)

    assert caught.value.retryable is False
    assert len(harness.requests) == 1


@pytest.mark.parametrize("content", ["", "   \n", None])
def test_empty_content_is_an_empty_error(content: str | None) -> None:
    with pytest.raises(LLMEmptyError) as caught:
        Harness(ok(content)).client.generate(messages=MESSAGES)

    assert caught.value.retryable is False


def test_a_content_filter_stop_is_a_refusal() -> None:
    with pytest.raises(LLMRefusedError):
        Harness(ok(None, finish_reason="content_filter")).client.generate(messages=MESSAGES)


def test_invalid_output_is_repaired_by_one_re_ask_quoting_the_error() -> None:
    invalid = draft_json(stance="super bullish")
    harness = Harness(ok(invalid), ok(draft_json()))
    result = harness.client.generate(messages=MESSAGES)

    assert result.repaired is True
    assert result.draft.stance == "bullish"
    repair = harness.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": invalid}
    assert repair[-1]["role"] == "user"
    assert '"stance"' in repair[-1]["content"]
    assert "super bullish" in repair[-1]["content"]


def test_invalid_output_twice_is_an_output_error_that_is_not_retryable() -> None:
    harness = Harness(ok("我覺得台積電會漲"), ok(draft_json(tags=["台積電"])))
    with pytest.raises(LLMOutputError) as caught:
        harness.client.generate(messages=MESSAGES)

    assert caught.value.retryable is False
    assert "台積電" in caught.value.message
    assert len(harness.requests) == 2
    assert caught.value.usage is not None
    assert caught.value.usage.calls == 2


# --- Retries ----------------------------------------------------------------------------------------


def test_a_429_with_retry_after_waits_that_long_then_succeeds() -> None:
    harness = Harness(error(429, "Rate limit reached", headers={"Retry-After": "3"}), ok(draft_json()))
    result = harness.client.generate(messages=MESSAGES)

    assert harness.sleeps == [3.0]
    assert len(harness.requests) == 2
    assert result.draft.title == DRAFT["title"]


def test_a_retry_after_beyond_the_maximum_is_not_waited_for() -> None:
    harness = Harness(error(429, "slow down", headers={"Retry-After": "600"}), retry_after_max_seconds=30)
    with pytest.raises(LLMRateLimitedError) as caught:
        harness.client.generate(messages=MESSAGES)

    assert caught.value.retryable is True
    assert harness.sleeps == []


def test_500s_are_retried_with_backoff_then_fail_as_retryable() -> None:
    harness = Harness(error(500, "boom"), error(502, "bad gateway"), error(503, "overloaded"))
    with pytest.raises(LLMServerError) as caught:
        harness.client.generate(messages=MESSAGES)

    assert caught.value.retryable is True
    assert caught.value.http_status == 503
    assert len(harness.requests) == 3
    first, second = harness.sleeps
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0
    assert caught.value.usage is not None
    assert caught.value.usage.calls == 0


def test_a_connection_error_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    llm = ScriptedLLM(refuse, refuse)
    client = LLMClient(_config(max_retries=1), http_client=llm.http_client(), sleep=lambda seconds: None)
    with pytest.raises(LLMConnectionError) as caught:
        client.generate(messages=MESSAGES)

    assert caught.value.retryable is True
    assert len(llm.requests) == 2


def test_a_server_slower_than_the_timeout_is_a_retryable_timeout() -> None:
    with FakeLLMServer(hang=True) as server:
        client = LLMClient(
            _config(base_url=server.base_url, timeout_seconds=0.3, max_retries=1), sleep=lambda seconds: None
        )
        with pytest.raises(LLMTimeoutError) as caught:
            client.generate(messages=MESSAGES)

    assert caught.value.retryable is True
    assert "127.0.0.1" in caught.value.message
    assert len(server.requests) == 2


def test_a_real_local_server_answers_through_the_default_http_client() -> None:
    with FakeLLMServer(content=draft_json()) as server:
        result = LLMClient(_config(base_url=server.base_url)).generate(messages=MESSAGES)

    assert result.draft.title == DRAFT["title"]
    assert server.requests[0]["model"] == "test-model"


def test_retry_after_is_read_in_seconds_milliseconds_and_as_a_date() -> None:
    assert retry_after_seconds(httpx.Headers({"retry-after": "2.5"})) == 2.5
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "750"})) == 0.75
    assert (
        retry_after_seconds(
            httpx.Headers(
                {"retry-after": email.utils.format_datetime(email.utils.localtime().replace(year=2000))}
            )
        )
        == 0.0
    )
    assert retry_after_seconds(httpx.Headers({})) is None


# --- Accounting, overrides, secrets -----------------------------------------------------------------


def test_tokens_latency_and_cost_are_recorded_from_the_price_table() -> None:
    result = Harness(ok(draft_json(), prompt_tokens=1000, completion_tokens=500)).client.generate(
        messages=MESSAGES
    )

    assert result.prompt_tokens == 1000
    assert result.completion_tokens == 500
    # 1000 x 0.15 / 1M + 500 x 0.60 / 1M
    assert result.cost_usd == Decimal("0.000450")
    assert result.latency_ms >= 0
    assert result.usage.calls == 1


def test_a_repair_re_ask_is_counted_in_tokens_and_cost() -> None:
    harness = Harness(
        ok("不是 JSON", prompt_tokens=1000, completion_tokens=100), ok(draft_json(), prompt_tokens=1200)
    )
    result = harness.client.generate(messages=MESSAGES)

    assert result.prompt_tokens == 2200
    assert result.completion_tokens == 600
    assert result.cost_usd == Decimal("0.000690")


def test_an_unknown_model_records_tokens_but_no_cost_and_the_kol_overrides_are_sent() -> None:
    kol = KOLFactory.build(llm_model="kol-model", llm_temperature=Decimal("0.35"), llm_max_tokens=900)
    harness = Harness(ok(draft_json(), model="kol-model"))
    options = call_options_for(config=harness.client.config, kol=kol)
    result = harness.client.generate(messages=MESSAGES, options=options)

    request = harness.requests[0]
    assert (request["model"], request["temperature"], request["max_tokens"]) == ("kol-model", 0.35, 900)
    assert result.model == "kol-model"
    assert result.prompt_tokens == 1000
    assert result.cost_usd is None


def test_a_kol_without_overrides_uses_the_site_defaults() -> None:
    config = _config(temperature=0.9, max_tokens=1200)
    options = call_options_for(config=config, kol=KOLFactory.build())

    assert (options.model, options.temperature, options.max_tokens) == ("test-model", 0.9, 1200)


def test_a_server_without_usage_gives_unknown_tokens_and_cost_never_a_guess() -> None:
    result = Harness(ok(draft_json(), prompt_tokens=None, completion_tokens=None)).client.generate(
        messages=MESSAGES
    )

    assert result.prompt_tokens is None
    assert result.completion_tokens is None
    assert result.cost_usd is None


def test_the_api_key_never_appears_in_errors_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    harness = Harness(error(401, f"Incorrect API key provided: {API_KEY}."))
    with pytest.raises(LLMRequestError) as caught:
        harness.client.generate(messages=MESSAGES)

    assert API_KEY not in caught.value.message
    assert API_KEY not in "".join(traceback.format_exception(caught.value))
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(harness.client.config)
    assert API_KEY not in repr(harness.client)


def test_every_llm_error_is_a_service_error_with_a_code() -> None:
    from config.exceptions import ServiceError

    assert issubclass(LLMError, ServiceError)
    assert {LLMTimeoutError.code, LLMServerError.code, LLMRateLimitedError.code} == {
        "llm_timeout",
        "llm_server_error",
        "llm_rate_limited",
    }


# --- Settings ---------------------------------------------------------------------------------------


def test_without_llm_base_url_there_is_no_llm_and_the_client_says_so(settings: Any) -> None:
    settings.LLM_BASE_URL = ""
    with pytest.raises(LLMNotConfiguredError):
        LLMClient.from_settings()


def test_the_client_reads_its_configuration_from_settings(settings: Any) -> None:
    settings.LLM_BASE_URL = "https://api.deepseek.example/v1"
    settings.LLM_API_KEY = API_KEY
    settings.LLM_MODEL = "deepseek-chat"
    settings.LLM_STRUCTURED_OUTPUT = "json_object"
    settings.LLM_PRICES = {"deepseek-chat": {"input": Decimal("0.27"), "output": Decimal("1.10")}}
    config = LLMConfig.from_settings()

    assert (config.model, config.structured_output) == ("deepseek-chat", "json_object")
    assert config.prices["deepseek-chat"] == Price(input=Decimal("0.27"), output=Decimal("1.10"))


def _load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "config" / "settings.py"))


def test_llm_prices_are_parsed_as_decimals(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}
    loaded = _load_settings(monkeypatch, LLM_PRICES=json.dumps(table))

    assert loaded["LLM_PRICES"] == {"gpt-4o-mini": {"input": Decimal("0.15"), "output": Decimal("0.6")}}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LLM_PRICES", "not json"),
        ("LLM_PRICES", '["gpt-4o-mini"]'),
        ("LLM_PRICES", '{"gpt-4o-mini": {"input": 0.15}}'),
        ("LLM_PRICES", '{"gpt-4o-mini": {"input": -1, "output": 0.6}}'),
        ("LLM_STRUCTURED_OUTPUT", "xml"),
        ("LLM_BASE_URL", "ftp://llm"),
        ("LLM_TIMEOUT_SECONDS", "soon"),
    ],
)
def test_a_malformed_llm_setting_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        _load_settings(monkeypatch, **{name: value})


def test_a_base_url_without_a_model_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_MODEL", raising=False)
    with pytest.raises(ImproperlyConfigured, match="LLM_MODEL"):
        _load_settings(monkeypatch, LLM_BASE_URL="http://localhost:11434/v1", LLM_API_KEY="local")


# --- Preambles, one line at a time -----------------------------------------------------------------

POST = "台積電今天收在104元，量能放大。"


@pytest.mark.parametrize(
    "text",
    [
        f"Sure! Here's a post in the voice of 老王.\n{POST}",
        f"Here is the post in the voice of 老王:\n\n{POST}",
        f"好的！\n{POST}",
        f"好的，以下是以老王的語氣撰寫的貼文：{POST}",
        f"以下是為您準備的貼文內容：\n\n{POST}",
        f"這是依照老王風格寫的文章：\n{POST}",
        f"以下是老王的貼文：\n標題：台積電站穩月線\n{POST}",
        f"{POST}\n\n希望這篇貼文符合您的需求！",
        f"{POST}\nLet me know if you'd like any changes.",
        f"```\n{POST}\n```",
    ],
)
def test_preambles_fences_and_sign_offs_are_stripped_from_the_body(text: str) -> None:
    assert clean_body(text, title="台積電站穩月線") == POST


@pytest.mark.parametrize(
    "text",
    [
        "以下是我對台積電的三點看法：\n1. 量能放大",
        "這是台積電本週第三根紅K，內容值得細看。",
        "當然要注意風險，台積電今天量能放大。",
        "好的公司不怕短期震盪。",
        "Here we go again: 台積電又站回月線。",
    ],
)
def test_an_opening_line_that_is_part_of_the_post_is_kept(text: str) -> None:
    assert clean_body(text) == text
