"""One draft: snapshot, then the LLM (at the HTTP boundary) or the template writer, then tags."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from config.exceptions import ServiceError
from kols.models import PostType
from posting.generation.context import ContextError
from posting.generation.drafting import DraftRequest, GenerationError, draft_generate, writer_for_new_batch
from posting.generation.template_writer import TemplateWriterError
from posting.llm.client import LLMClient
from posting.llm.config import LLMConfig
from posting.llm.errors import LLMNotConfiguredError, LLMServerError
from posting.models import Post
from tests.factories import NewsItemFactory, StockFactory
from tests.posting.batch_setup import RoutedLLM, kols, prompt_templates_seed, server_error, stock_with_quotes
from tests.posting.fake_llm import completion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _templates() -> None:
    prompt_templates_seed()


def _request(code: str = "2330", **changes: Any) -> DraftRequest:
    fields: dict[str, Any] = {
        "kol": kols(1)[0],
        "stock": stock_with_quotes(code),
        "post_type": PostType.ANALYSIS,
        "trigger_type": "top_gainers",
        "trigger_key": code,
        "trigger_reasons": ["漲幅居前"],
    }
    return DraftRequest(**{**fields, **changes})


def test_an_llm_draft_records_model_prompt_version_tokens_snapshot_and_tags() -> None:
    llm = RoutedLLM()
    draft = draft_generate(request=_request(), writer="llm", client=llm.client())

    fields = draft.fields
    assert fields["generator"] == Post.Generator.LLM
    assert (fields["llm_model"], fields["prompt_version"]) == ("test-model", "analysis-v1")
    assert (fields["prompt_tokens"], fields["completion_tokens"]) == (1000, 500)
    assert fields["title"] == "台積電收102元，量價穩定"
    assert fields["market_snapshot"]["quote"]["close"] == "102.00"
    assert fields["market_snapshot"]["trigger"] == {"type": "top_gainers", "reasons": ["漲幅居前"]}
    assert fields["persona_snapshot"]["kol_id"] == fields["kol"].pk
    assert fields["commodity_tags"] == [{"type": "Stock", "key": "2330", "bullOrBear": 0}]
    assert llm.calls == {"2330": 1}


def test_the_template_writer_is_the_writer_when_no_llm_is_configured(settings: Any) -> None:
    settings.LLM_BASE_URL = ""
    writer = writer_for_new_batch()
    draft = draft_generate(request=_request(), writer=writer)

    assert writer == "template"
    assert draft.fields["generator"] == Post.Generator.TEMPLATE
    assert draft.fields["prompt_version"] == "template-v2"
    assert "102" in draft.fields["body"]
    assert "llm_model" not in draft.fields and "prompt_tokens" not in draft.fields
    assert draft.fields["commodity_tags"][0]["key"] == "2330"


def test_an_llm_failure_is_a_retryable_error_and_never_template_text() -> None:
    llm = RoutedLLM(lambda code, _n: server_error(code))
    with pytest.raises(LLMServerError) as failure:
        draft_generate(request=_request(), writer="llm", client=llm.client())

    assert failure.value.retryable is True
    assert "500" in failure.value.message
    assert not Post.objects.exists()


def test_an_llm_batch_on_a_worker_without_an_llm_fails_readably_instead_of_using_the_template(
    settings: Any,
) -> None:
    settings.LLM_BASE_URL = ""
    with pytest.raises(LLMNotConfiguredError, match="LLM_BASE_URL"):
        draft_generate(request=_request(), writer="llm")


def test_asking_for_the_llm_writer_without_an_llm_is_a_field_error(settings: Any) -> None:
    settings.LLM_BASE_URL = ""
    with pytest.raises(ServiceError) as refused:
        writer_for_new_batch("llm")
    assert "writer" in refused.value.fields


def test_a_configured_llm_is_the_default_writer(settings: Any) -> None:
    settings.LLM_BASE_URL = "http://llm.test/v1"
    assert writer_for_new_batch() == "llm"
    assert writer_for_new_batch("template") == "template"


def test_a_stock_without_quotes_is_an_error_naming_the_stock() -> None:
    bare = StockFactory(code="2303", name="聯電")
    with pytest.raises(ContextError, match="2303"):
        draft_generate(request=_request(stock=bare), writer="template")


def test_a_draft_without_a_stock_or_a_topic_fails() -> None:
    with pytest.raises(GenerationError) as failure:
        draft_generate(request=_request(stock=None, topic=" "), writer="template")
    assert failure.value.code == "topic_without_stock"


def test_a_topic_with_nothing_stored_about_it_fails_instead_of_getting_an_invented_context() -> None:
    request = DraftRequest(kol=kols(1)[0], stock=None, topic="升息循環", post_type=PostType.ANALYSIS)
    with pytest.raises(ContextError, match="升息循環"):
        draft_generate(request=request, writer="template")


def test_a_topic_post_is_written_from_its_news_and_the_market_breadth() -> None:
    stock_with_quotes("2330")
    NewsItemFactory(title="央行升息半碼 升息循環未完", snippet="市場關注升息循環")
    NewsItemFactory(title="與主題無關的新聞", snippet="台積電法說會")
    request = _request(stock=None, topic="升息循環", topic_id="8f2c", trigger_type="macro")
    draft = draft_generate(request=request, writer="template")
    fields = draft.fields
    snapshot = fields["market_snapshot"]
    assert fields["stock"] is None and fields["topic_title"] == "升息循環" and fields["topic_id"] == "8f2c"
    assert snapshot["kind"] == "topic" and snapshot["market"]["stocks_traded"] == 1
    assert [item["title"] for item in snapshot["news"]] == ["央行升息半碼 升息循環未完"]
    assert "升息循環" in fields["title"] and "央行升息半碼" in fields["body"]
    assert fields["commodity_tags"] == []


def test_an_llm_topic_post_gets_the_topic_and_its_data_in_the_prompt() -> None:
    stock_with_quotes("2330")
    NewsItemFactory(title="央行升息半碼 升息循環未完", snippet="市場關注升息循環")
    seen: list[dict[str, Any]] = []
    answer = {
        "title": "升息循環下的市場",
        "body": "央行升息半碼，市場觀望。\n投資有風險，請自行判斷。",
        "stance": "neutral",
        "tags": ["2330", "9999"],
    }

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json=completion(json.dumps(answer, ensure_ascii=False)))

    client = LLMClient(
        LLMConfig(
            base_url="http://llm.test/v1", api_key="k", model="test-model", max_retries=0, timeout_seconds=5.0
        ),
        http_client=httpx.Client(transport=httpx.MockTransport(handle)),
    )
    draft = draft_generate(request=_request(stock=None, topic="升息循環"), writer="llm", client=client)
    prompt = " ".join(str(message["content"]) for message in seen[-1]["messages"])
    assert "主題：升息循環" in prompt and "央行升息半碼" in prompt and "上漲" in prompt
    assert draft.fields["stock"] is None and draft.fields["title"] == "升息循環下的市場"
    # Only real stocks the text named become tags.
    assert draft.fields["commodity_tags"] == [{"type": "Stock", "key": "2330", "bullOrBear": 0}]


def test_a_news_commentary_without_news_fails_instead_of_inventing_news() -> None:
    with pytest.raises(TemplateWriterError, match="2330"):
        draft_generate(request=_request(post_type=PostType.NEWS_COMMENTARY), writer="template")


def test_tags_keep_the_primary_stock_and_other_known_codes_and_drop_codes_no_stock_has() -> None:
    stock_with_quotes("2317")

    def answer(code: str, _n: int) -> httpx.Response:
        content = (
            '{"title": "台積電與鴻海", "body": "台積電收102元。投資有風險，請自行判斷。", '
            '"stance": "bullish", "tags": ["2317", "9999", "2330"]}'
        )
        return httpx.Response(200, json=completion(content))

    draft = draft_generate(request=_request(), writer="llm", client=RoutedLLM(answer).client())
    assert draft.fields["commodity_tags"] == [
        {"type": "Stock", "key": "2330", "bullOrBear": 1},
        {"type": "Stock", "key": "2317", "bullOrBear": 0},
    ]
