from __future__ import annotations

import pytest

from posting.tags import TagError, bare_stock_code, commodity_tags_build, community_topic_build


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("2330", "2330"),
        ("2330.TW", "2330"),
        ("5227.TWO", "5227"),
        ("5227.two", "5227"),
        (" 00878 ", "00878"),
        ("00631L.TW", "00631L"),
        ("2881A", "2881A"),
    ],
)
def test_tag_keys_are_bare_stock_codes(raw: str, code: str) -> None:
    assert bare_stock_code(raw) == code


def test_an_otc_suffix_is_never_cut_to_a_stray_letter() -> None:
    assert bare_stock_code("5227.TWO") != "5227O"


@pytest.mark.parametrize("raw", ["台積電", "23", "AAPL", "2330.HK", ""])
def test_something_that_is_not_a_stock_code_is_refused_by_name(raw: str) -> None:
    with pytest.raises(TagError) as caught:
        bare_stock_code(raw)

    assert repr(raw) in caught.value.message


@pytest.mark.parametrize(("stance", "value"), [("bullish", 1), ("bearish", -1), ("neutral", 0)])
def test_the_stance_sets_bull_or_bear_on_the_primary_stock_only(stance: str, value: int) -> None:
    tags = commodity_tags_build(stock_codes=["2330.TW", "2303"], stance=stance)

    assert tags == [
        {"type": "Stock", "key": "2330", "bullOrBear": value},
        {"type": "Stock", "key": "2303", "bullOrBear": 0},
    ]


def test_duplicate_codes_collapse_and_the_market_tag_comes_last_when_asked() -> None:
    tags = commodity_tags_build(stock_codes=["5227.TWO", "5227"], stance="neutral", include_market=True)

    assert tags == [{"type": "Stock", "key": "5227", "bullOrBear": 0}, {"type": "Market", "key": "TWA00"}]


def test_an_unknown_stance_is_refused() -> None:
    with pytest.raises(TagError, match="moon"):
        commodity_tags_build(stock_codes=["2330"], stance="moon")


def test_a_topic_is_attached_by_id_and_an_empty_id_means_no_topic() -> None:
    assert community_topic_build(" 8f2c ") == {"id": "8f2c"}
    assert community_topic_build("") is None
