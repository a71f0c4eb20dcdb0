from __future__ import annotations

import pytest

from posting.checks import draft_check
from posting.checks.grounding import ground
from posting.checks.numbers import extract_figures
from tests.posting.checks_support import SNAPSHOT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_rules")]


def _ungrounded(body: str, snapshot: dict | None = SNAPSHOT) -> list[str]:
    report = draft_check(title="盤後", body=body, snapshot=snapshot, include_recent_posts=False)
    return [finding.excerpt for finding in report.findings if "ungrounded" in finding.code]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("收盤104元", "price", 104),
        ("收盤價１０４．５元", "price", 104.5),
        ("股價收104.5", "price", 104.5),
        ("上漲4元", "change", 4),
        ("漲了4塊", "change", 4),
        ("漲幅約4%", "percent", 4),
        ("漲幅４％", "percent", 4),
        ("今天漲4趴", "percent", 4),
        ("漲了三成", "percent", 30),
        ("跌了兩成半", "percent", 25),
        ("漲了1成", "percent", 10),
        ("百分之五", "percent", 5),
        ("成交量12,345張", "volume", 12_345_000),
        ("成交量1.2萬張", "volume", 12_000_000),
        ("成交量兩萬張", "volume", 20_000_000),
        ("成交3,000萬股", "volume", 30_000_000),
        ("成交金額12.8億元", "turnover", 1_280_000_000),
        ("成交值12億3,456萬元", "turnover", 1_234_560_000),
        ("▼2.5", "change", 2.5),
    ],
)
def test_figures_are_read_with_their_taiwanese_units(text: str, kind: str, value: float) -> None:
    (figure,) = extract_figures(text)
    assert (figure.kind, figure.value) == (kind, pytest.approx(value))


def test_signs_hedges_and_ranges_are_read() -> None:
    down, near, over, under, around, ranged = extract_figures(
        "下跌2%，近1%，逾三成，不到2%，4%左右，100~105元"
    )
    assert (down.sign, near.hedge, over.hedge, under.hedge, around.hedge) == (
        -1,
        "near",
        "over",
        "under",
        "approx",
    )
    assert (ranged.value, ranged.high) == (100, 105)


@pytest.mark.parametrize(
    "text",
    [
        "2024年11月20日下午1:30公布",
        "民國113年第3季財報",
        "台積電(2330)與2330台積電、#2330、2330.TW",
        "站上5日均線與20日線，MA20與20MA都翻揚",
        "三大法人中前10大買超，1. 先看籌碼",
        "KD值80，RSI來到70，MACD翻正",
        "5G與3奈米、Q3營運",
        "一張圖看懂，一成不變，八成會漲",
        "近5日上漲3檔，連續2天",
    ],
)
def test_dates_times_codes_periods_counts_and_indicators_are_not_figures(text: str) -> None:
    assert extract_figures(text, skip_codes={"2330"}) == []


@pytest.mark.parametrize(
    "text",
    [
        "台積電今日收盤104元，上漲4元，漲幅約4%。",
        "收在104.00元，漲4塊，漲4趴。",
        "收盤價１０４元，漲幅４％。",
        "成交量12,345張，成交金額12.8億元。",
        "成交量約1.2萬張，成交值約13億。",
        "成交量逾1.2萬張，量能放大。",
        "成交量1萬2千張。",
        "最高105元、最低99元，昨收100元，開盤100元。",
        "今天振幅6%。",
        "台積電 +4.00 (+4.00%)，▲4。",
        "漲幅近4%，漲幅不到5%。",
        "漲停價110元還有距離。",
        "股價在100~105元區間。",
    ],
)
def test_figures_that_match_the_snapshot_are_grounded(text: str) -> None:
    assert _ungrounded(text) == []


@pytest.mark.parametrize(
    ("text", "excerpt"),
    [
        ("台積電今日收盤106元。", "106元"),
        ("今天下跌4元。", "4元"),
        ("漲幅6%，表現強勢。", "6%"),
        ("成交量2萬張。", "2萬張"),
        ("成交值20億元。", "20億元"),
        ("一口氣漲了兩成。", "兩成"),
        ("外資買超3,000張。", "3,000張"),
        ("上漲4.5元。", "4.5元"),
    ],
)
def test_figures_the_snapshot_does_not_support_are_ungrounded(text: str, excerpt: str) -> None:
    assert _ungrounded(text) == [excerpt]


def test_an_ungrounded_finding_names_the_figure_and_where_it_is() -> None:
    body = "今天收盤106元。"
    report = draft_check(title="盤後", body=body, snapshot=SNAPSHOT, include_recent_posts=False)
    (finding,) = report.findings
    assert finding.code == "grounding.ungrounded_price"
    assert finding.severity == "warn"
    assert "106元" in finding.message
    assert body[finding.start : finding.end] == "106元"


def test_a_stated_direction_against_the_snapshot_is_called_out() -> None:
    report = draft_check(title="盤後", body="今天下跌4元。", snapshot=SNAPSHOT, include_recent_posts=False)
    (finding,) = report.findings
    assert "opposite direction" in finding.message


def test_tenths_are_understood_against_a_big_move() -> None:
    snapshot = {"close": 130, "change": 30, "change_pct": 30.0, "volume": 1_000_000}
    assert _ungrounded("一個月漲了三成。", snapshot) == []
    assert _ungrounded("漲近三成。", snapshot) == []
    assert _ungrounded("漲了五成。", snapshot) == ["五成"]


def test_averages_history_and_quoted_news_in_the_snapshot_ground_figures() -> None:
    snapshot = {
        **SNAPSHOT,
        "ma20": 98.5,
        "history": [{"trade_date": "2026-11-19", "close": 100}],
        "news": [{"title": "台積電11月營收年增20%"}],
    }
    assert _ungrounded("月線98.5元，昨天收100元，營收年增20%。", snapshot) == []
    assert _ungrounded("營收年增35%。", snapshot) == ["35%"]


def test_without_a_snapshot_grounding_is_skipped_and_the_report_says_so() -> None:
    report = draft_check(title="盤後", body="收盤106元，漲幅6%。", include_recent_posts=False)
    assert report.grounding["checked"] is False
    assert "snapshot" in report.grounding["reason"]
    assert report.grounding["ratio"] is None
    assert not [f for f in report.findings if "ungrounded" in f.code]
    assert report.quality_breakdown["grounding"].value is None


def test_forecasts_are_neither_grounded_nor_counted() -> None:
    result = ground(extract_figures("收盤104元，有望上看150元"), SNAPSHOT)
    assert result.findings == ()
    assert (result.counted, result.grounded, result.ratio) == (1, 1, 1.0)


def test_the_grounding_ratio_counts_grounded_figures() -> None:
    report = draft_check(
        title="盤後", body="收盤104元，成交量2萬張。", snapshot=SNAPSHOT, include_recent_posts=False
    )
    assert report.grounding["ratio"] == 0.5
    assert report.quality_breakdown["grounding"].value == 0.5


def _context_snapshot() -> dict:
    """Shaped like the generation context: the day's quote nested, a dated history, computed figures."""
    history = [
        {"date": f"2026-10-{day:02d}", "open": "80.00", "high": "81.00", "low": "79.00", "close": "80.00"}
        for day in range(1, 21)
    ]
    history[-1] = {"date": "2026-10-21", "open": "99.00", "high": "101.00", "low": "98.00", "close": "100.00"}
    return {
        "stock": {"code": "2330", "name": "台積電"},
        "as_of": "2026-10-22",
        "quote": {
            "date": "2026-10-22",
            "close": "104.00",
            "open": "100.00",
            "high": "105.00",
            "low": "99.00",
            "change": "4.00",
            "change_pct": "4.00",
            "prev_close": "100.00",
            "volume": 12_345_000,
            "volume_lots": 12_345,
            "turnover": 1_280_000_000,
            "turnover_100m_twd": "12.80",
            "transactions": 8000,
        },
        "history": history,
        "figures": {
            "ma5": "96.50",
            "volume_avg20": 6_858_333,
            "volume_ratio20": "1.80",
            "range_20d": {"low": "79.00", "high": "105.00"},
        },
        "trigger": {"type": "top_gainers", "reasons": ["漲幅4.00%，名列前茅"]},
    }


def test_the_generation_contexts_nested_snapshot_is_understood() -> None:
    snapshot = _context_snapshot()
    text = "收盤104元，漲幅4%，振幅6%，昨收100元，5日均線96.5元，量增80%，成交值12.8億元。"
    assert _ungrounded(text, snapshot) == []


def test_only_the_latest_days_of_a_long_history_ground_prices() -> None:
    snapshot = _context_snapshot()
    snapshot["history"][0]["close"] = "88.00"
    assert _ungrounded("上個月收88元。", snapshot) == ["88元"]
