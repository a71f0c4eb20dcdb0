"""The real exchange answers in tests/market/data/real/ (copied from /work/shared/data/real/), loaded fresh."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

REAL = Path(__file__).resolve().parent / "data" / "real"


@cache
def _load(name: str) -> Any:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def twse_day() -> list[dict[str, Any]]:
    """TWSE STOCK_DAY_ALL of 2026-07-08 (ROC 1150708): 1,369 rows of every instrument type."""
    return copy.deepcopy(_load("twse_stock_day_all_1150708.json"))


def tpex_excerpt() -> list[dict[str, Any]]:
    """The first 20 rows of TPEx's mainboard close of 2026-09-07 (ROC 1150907)."""
    return copy.deepcopy(_load("tpex_daily_close_1150907_excerpt.json"))


def twse_blocked_page() -> str:
    return (REAL / "twse_blocked_page.html").read_text(encoding="utf-8")
