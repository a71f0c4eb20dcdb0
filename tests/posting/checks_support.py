"""What the draft-check tests share: the market snapshot their texts cite, and the default rules."""

from __future__ import annotations

import pytest

from tests.factories import default_compliance_rules

# The snapshot a draft about "台積電" is checked against: 104 元, +4 元 (+4%), 12,345 張, 12.8 億.
SNAPSHOT = {
    "close": 104,
    "open": 100,
    "high": 105,
    "low": 99,
    "change": 4,
    "change_pct": 4.0,
    "volume": 12_345_000,
    "turnover": 1_280_000_000,
}


@pytest.fixture
def default_rules(db: None) -> None:
    """The shipped compliance rules (a data migration seeds them; test databases are emptied between tests)."""
    default_compliance_rules()
