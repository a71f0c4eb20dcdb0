"""Market-wide triggers judge common stocks only; ETFs when a config includes them; warrants never."""

from __future__ import annotations

from typing import Any

import pytest

from market.models import DailyQuote, InstrumentType, Stock
from scheduling.triggers import trigger_evaluate
from tests.scheduling.test_triggers import D4, D5, _quote, codes, market, new_stock  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_instruments(market: dict[str, Stock]) -> None:  # noqa: F811
    """An ETF and a warrant that both moved past the limit-up threshold with huge turnover."""
    etf = new_stock(code="00632R", name="元大台灣50反1", industry="", instrument_type=InstrumentType.ETF)
    warrant = new_stock(
        code="712345", name="環球晶凱基5B購01", industry="", instrument_type=InstrumentType.WARRANT
    )
    DailyQuote.objects.bulk_create(
        [
            _quote(etf, D4, "10", 9_000_000, 9_000_000_000),
            _quote(etf, D5, "11", 90_000_000, 99_000_000_000),
            _quote(warrant, D4, "1.00", 9_000_000, 9_000_000_000),
            _quote(warrant, D5, "2.50", 90_000_000, 99_000_000_000),
        ]
    )


def _evaluate(trigger_type: str, config: dict[str, Any]) -> list[str]:
    return codes(trigger_evaluate(trigger_type=trigger_type, config=config))


@pytest.mark.parametrize("trigger_type", ["limit_up", "top_gainers", "turnover_leaders", "turnover_change"])
def test_etfs_and_warrants_are_ignored_by_default(other_instruments: None, trigger_type: str) -> None:
    picked = _evaluate(trigger_type, {})
    assert picked and "00632R" not in picked and "712345" not in picked


@pytest.mark.parametrize("trigger_type", ["limit_up", "top_gainers", "turnover_leaders"])
def test_a_config_that_includes_etfs_gets_etfs_but_never_warrants(
    other_instruments: None, trigger_type: str
) -> None:
    picked = _evaluate(trigger_type, {"include_etfs": True})
    assert "00632R" in picked and "712345" not in picked
