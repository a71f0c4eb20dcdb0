"""Trigger configs are checked before anything is read, and every error names the key that was wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from scheduling.trigger_types import CONFIG_SCHEMAS, TriggerType, validate_trigger_config
from scheduling.triggers import TriggerConfigError, trigger_evaluate
from scheduling.triggers.config import trigger_config_clean


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in the source language; the site default is zh-hant.
    with translation.override("en"):
        yield


@pytest.mark.parametrize("trigger_type", TriggerType.values)
def test_every_trigger_type_has_a_valid_json_schema(trigger_type: str) -> None:
    jsonschema.Draft202012Validator.check_schema(CONFIG_SCHEMAS[trigger_type])


def test_defaults_are_filled_in_and_the_given_values_win() -> None:
    assert trigger_config_clean("limit_up", {}) == {"include_etfs": False, "threshold_pct": 9.5, "limit": 10}
    assert trigger_config_clean("volume_surge", {"ratio": 3}) == {
        "ratio": 3,
        "lookback_days": 20,
        "include_etfs": False,
        "limit": 10,
    }
    assert trigger_config_clean("turnover_change", None) == {
        "min_change_pct": 50,
        "min_turnover_twd": 0,
        "include_etfs": False,
        "limit": 10,
    }


@pytest.mark.parametrize(
    ("trigger_type", "config", "key"),
    [
        ("limit_up", {"threshold_pct": 30}, "threshold_pct"),
        ("limit_down", {"threshold_pct": "9.5"}, "threshold_pct"),
        ("top_gainers", {"limt": 5}, "limt"),
        ("top_gainers", {"limit": 0}, "limit"),
        ("news", {}, "keywords"),
        ("news", {"keywords": []}, "keywords"),
        ("news", {"keywords": ["AI"], "window_hours": 500}, "window_hours"),
        ("individual", {"stock_codes": ["2330.TW"]}, "stock_codes.0"),
        ("individual", {"stock_codes": ["2330", "2330"]}, "stock_codes"),
        ("sector", {"industries": ["半導體業"], "rank_by": "pe"}, "rank_by"),
        ("volume_surge", {"lookback_days": 2}, "lookback_days"),
        ("macro", {"topics": ["升息"], "require_news": "yes"}, "require_news"),
        ("custom", {"price": {"min": -1}}, "price.min"),
        ("custom", {"change_pct": {"low": 1}}, "change_pct.low"),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(trigger_type: str, config: dict[str, Any], key: str) -> None:
    with pytest.raises(TriggerConfigError) as error:
        trigger_config_clean(trigger_type, config)
    assert f"{key}:" in error.value.message
    assert any(message.startswith(f"{key}:") for message in error.value.fields["trigger_config"])
    assert error.value.code == "invalid_trigger_config"


def test_a_config_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(TriggerConfigError) as error:
        trigger_config_clean("top_gainers", ["limit", 5])  # type: ignore[arg-type]
    assert "(top level)" in error.value.message


def test_an_unknown_key_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(TriggerConfigError) as error:
        trigger_config_clean("limit_up", {"threshhold": 9})
    assert "threshhold: unknown key (allowed: include_etfs, limit, threshold_pct)." in error.value.message


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({}, "(top level)"),
        ({"limit": 5, "price": {}}, "(top level)"),
        ({"price": {"min": 50, "max": 10}}, "price"),
        ({"change_pct": {"min": 5, "max": -5}}, "change_pct"),
        ({"market_cap_min_twd": 10, "market_cap_max_twd": 1}, "market_cap_min_twd"),
    ],
)
def test_custom_needs_a_criterion_and_consistent_ranges(config: dict[str, Any], key: str) -> None:
    with pytest.raises(TriggerConfigError) as error:
        trigger_config_clean("custom", config)
    assert error.value.fields["trigger_config"][0].startswith(f"{key}:")


def test_an_unknown_trigger_type_is_refused_naming_it() -> None:
    with pytest.raises(TriggerConfigError) as error:
        trigger_evaluate(trigger_type="moon_phase", config={})
    assert "moon_phase" in error.value.message
    assert error.value.fields == {"trigger_type": ["moon_phase"]}


@pytest.mark.django_db
def test_a_bad_config_is_refused_before_any_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0), pytest.raises(TriggerConfigError):
        trigger_evaluate(trigger_type="limit_up", config={"threshold_pct": 11})


def test_the_model_validator_names_a_missing_key() -> None:
    with pytest.raises(ValidationError) as error:
        validate_trigger_config("macro", {})
    assert error.value.message_dict == {"trigger_config": ["topics: Topics is required."]}


def test_the_intraday_config_is_validated_before_the_refusal() -> None:
    with pytest.raises(TriggerConfigError) as error:
        trigger_evaluate(trigger_type="intraday", config={"change_pct_min": -1})
    assert "change_pct_min" in error.value.message


@pytest.mark.parametrize(
    ("trigger_type", "config", "sentence"),
    [
        ("limit_up", {"threshold_pct": "high"}, "「門檻（%）」必須是數字。"),
        ("limit_up", {"threshold_pct": 0.5}, "「門檻（%）」不可小於 1。"),
        ("limit_up", {"threshold_pct": 11}, "「門檻（%）」不可大於 10。"),
        ("news", {"keywords": ["x" * 101]}, "「關鍵字」每一項最多 100 個字元。"),
        ("individual", {"stock_codes": ["2330.TW"]}, "「股票代號」有一項格式不對：2330.TW。"),
        ("individual", {"stock_codes": [str(1000 + n) for n in range(201)]}, "「股票代號」最多 200 項。"),
        ("sector", {"industries": ["半導體業"], "rank_by": "pe"}, "「排序依據」必須是"),
        ("macro", {}, "「主題」為必填。"),
    ],
)
def test_schema_problems_are_zh_hant_sentences_naming_the_setting(
    trigger_type: str, config: dict[str, Any], sentence: str
) -> None:
    with translation.override("zh-hant"), pytest.raises(ValidationError) as error:
        validate_trigger_config(trigger_type, config)
    messages = error.value.message_dict["trigger_config"]
    assert any(sentence in message for message in messages), messages
    assert not any("is not" in message or "does not" in message for message in messages)
