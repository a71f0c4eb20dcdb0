from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kols.models import EmojiUse, PostType, PromptTemplate
from kols.prompt_syntax import PROMPT_VARIABLES, prompt_sources_validate
from kols.prompt_templates import prompt_template_activate, prompt_template_copy
from market.models import Stock
from posting.generation.context import context_build
from posting.generation.prompts import PromptError, prompt_build, prompt_context
from tests.factories import DailyQuoteFactory, KOLFactory, StockFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kol() -> Any:
    return KOLFactory(
        nickname="老王看盤",
        persona="technical",
        backstory="做了二十年散戶的工程師",
        style_rules=["先講數據再講看法", "句子短"],
        guardrails=["不談政治"],
        signature="— 老王看盤",
        common_phrases=["量是價的先行指標", "先求不敗"],
        emoji_use=EmojiUse.NONE,
        tone_formal=9,
        tone_emotion=2,
        tone_confidence=5,
        tone_urgency=5,
        tone_interaction=8,
    )


def _snapshot(kol: Any, days: int) -> dict[str, Any]:
    stock = cast(Stock, StockFactory(code="2330", name="台積電"))
    for day in range(days):
        close = Decimal(100 + day)
        DailyQuoteFactory(
            stock=stock,
            trade_date=dt.date(2026, 10, 1) + dt.timedelta(days=day),
            open=close - 1,
            high=close + 1,
            low=close - 1,
            close=close,
            change=Decimal(1),
        )
    return context_build(kol=kol, stock=stock, trigger_reasons=["漲幅居前"])


def test_the_prompt_carries_the_persona_card_and_the_template_version(kol: Any) -> None:
    built = prompt_build(kol=kol, post_type=PostType.ANALYSIS, snapshot=_snapshot(kol, 25))
    system, user = (message["content"] for message in built.messages)

    assert [message["role"] for message in built.messages] == ["system", "user"]
    assert built.template_version == "analysis-v1"
    for expected in [
        "老王看盤",
        "技術派",
        "做了二十年散戶的工程師",
        "先講數據再講看法",
        "不談政治",
        "— 老王看盤",
        "量是價的先行指標",
        "不使用任何表情符號",
        "正式程度 9/10：正式專業",
        "情緒 2/10：冷靜克制",
        "互動 8/10：經常與讀者互動",
    ]:
        assert expected in system
    assert "台積電（2330）" in user
    assert "收盤價：124.00 元" in user
    assert "20 日均價（月線）：114.50" in user
    assert "漲幅居前" in user
    assert built.persona["signature"] == "— 老王看盤"


def test_figures_the_snapshot_lacks_are_named_as_forbidden_and_never_asked_for(kol: Any) -> None:
    built = prompt_build(kol=kol, post_type=PostType.ANALYSIS, snapshot=_snapshot(kol, 3))
    system, user = (message["content"] for message in built.messages)
    forbidden = next(line for line in system.splitlines() if "不得提及、暗示或推測" in line)

    assert "MACD" in forbidden
    assert "20 日均價（月線）（需要 20 個交易日，資料只有 3 個）" in forbidden
    assert "MACD" not in system.replace(forbidden, "")
    assert "MACD" not in user
    assert "20 日均價（月線）：" not in user
    assert "不得提及新聞" in system


def test_the_post_length_sets_the_character_range(kol: Any) -> None:
    built = prompt_build(kol=kol, post_type=PostType.QUESTION, snapshot=_snapshot(kol, 5), length="short")

    assert "80 到 150 字" in built.messages[1]["content"]
    assert built.template_version == "question-v1"


def test_a_news_commentary_without_news_is_refused(kol: Any) -> None:
    with pytest.raises(PromptError, match="2330"):
        prompt_build(kol=kol, post_type=PostType.NEWS_COMMENTARY, snapshot=_snapshot(kol, 5))


def test_without_an_active_template_the_prompt_cannot_be_built(kol: Any) -> None:
    PromptTemplate.objects.filter(post_type=PostType.ANALYSIS).update(is_active=False)
    with pytest.raises(PromptError, match="analysis"):
        prompt_build(kol=kol, post_type=PostType.ANALYSIS, snapshot=_snapshot(kol, 5))


def test_an_edited_copy_once_activated_is_used_and_recorded_by_its_version(
    kol: Any, administrator: Any
) -> None:
    original = PromptTemplate.objects.get(version="analysis-v1")
    copy = prompt_template_copy(template=original, by=administrator)
    copy.user_prompt = "寫一篇 {{ stock_name }} 的短評。\n{{ market_data }}"
    copy.full_clean()
    copy.save()
    prompt_template_activate(template=copy)

    built = prompt_build(kol=kol, post_type=PostType.ANALYSIS, snapshot=_snapshot(kol, 5))
    original.refresh_from_db()

    assert copy.version == "analysis-v2"
    assert built.template_version == "analysis-v2"
    assert built.messages[1]["content"].startswith("寫一篇 台積電 的短評。")
    assert original.is_active is False
    assert original.activated_at is not None


def test_the_seeded_templates_are_valid_and_one_is_active_per_post_type() -> None:
    active = PromptTemplate.objects.filter(is_active=True)

    assert sorted(active.values_list("post_type", flat=True)) == sorted(PostType.values)
    for template in active:
        prompt_sources_validate(system_prompt=template.system_prompt, user_prompt=template.user_prompt)


def test_the_context_fills_exactly_the_documented_variables(kol: Any) -> None:
    context = prompt_context(kol=kol, snapshot=_snapshot(kol, 5), post_type=PostType.ANALYSIS)

    assert set(context) == set(PROMPT_VARIABLES)


@pytest.mark.parametrize(
    ("user_prompt", "message"),
    [
        ("{{ market_data }} {{ data_rules }} {{ macd_value }}", "macd_value"),
        ("{{ stock_name }} {{ data_rules }}", "market_data"),
        ("{% if has_news %}{{ market_data }} {{ data_rules }}", "syntax"),
    ],
)
def test_a_template_with_unknown_or_missing_variables_is_rejected(user_prompt: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        prompt_sources_validate(system_prompt="你是 {{ kol_name }}", user_prompt=user_prompt)


def test_loop_variables_are_allowed_in_templates() -> None:
    prompt_sources_validate(
        system_prompt="{% for rule in style_rules %}- {{ rule }}\n{% endfor %}{{ data_rules }}",
        user_prompt="{{ market_data }}",
    )


def test_the_admin_activate_action_switches_the_active_template(client: Any, administrator: Any) -> None:
    copy = prompt_template_copy(template=PromptTemplate.objects.get(version="question-v1"), by=administrator)
    client.force_login(administrator)
    response = client.post(
        reverse("admin:kols_prompttemplate_changelist"),
        {"action": "activate", "_selected_action": [copy.pk]},
    )

    assert response.status_code == 302
    assert PromptTemplate.objects.get(post_type=PostType.QUESTION, is_active=True).version == "question-v2"


def test_an_activated_template_is_read_only_in_the_admin(client: Any, administrator: Any) -> None:
    template = PromptTemplate.objects.get(version="analysis-v1")
    client.force_login(administrator)
    page = client.get(reverse("admin:kols_prompttemplate_change", args=[template.pk])).content.decode()

    assert 'name="user_prompt"' not in page
    assert "market_data" in page
