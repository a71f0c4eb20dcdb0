"""One draft: snapshot, then the LLM (at the HTTP boundary) or the template writer, then tags."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from config.exceptions import ServiceError
from kols.models import PostType
from posting.generation.context import ContextError
from posting.generation.drafting import DraftRequest, GenerationError, draft_generate, writer_for_new_batch
from posting.generation.template_writer import TemplateWriterError
from posting.llm.errors import LLMNotConfiguredError, LLMServerError
from posting.models import Post
from tests.factories import StockFactory
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


def test_a_topic_without_a_stock_fails_instead_of_getting_an_invented_context() -> None:
    with pytest.raises(GenerationError) as failure:
        draft_generate(request=_request(stock=None, topic="升息循環"), writer="template")
    assert failure.value.code == "topic_without_stock"
    assert "升息循環" in failure.value.message


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
