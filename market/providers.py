"""Where daily quotes come from, behind one interface.

TWSE and TPEx are the default real sources (keyless). FinLab (paid, optional) would be a third
provider of this shape; its package is not installed, so it is not built.
"""

from __future__ import annotations

from typing import Protocol

from market.clients import tpex, twse
from market.clients.quotes import Quote
from market.models import Market


class QuoteProvider(Protocol):
    """A source of the latest trading day's quotes for one market."""

    @property
    def name(self) -> str: ...

    @property
    def market(self) -> str:
        """The Market value new stocks from this source join the master with."""
        ...

    def fetch_latest(self) -> list[Quote]: ...


class TwseProvider:
    name = "TWSE"
    market = Market.TWSE.value

    def fetch_latest(self) -> list[Quote]:
        return twse.fetch_daily_quotes()


class TpexProvider:
    name = "TPEx"
    market = Market.TPEX.value

    def fetch_latest(self) -> list[Quote]:
        return tpex.fetch_daily_quotes()


def default_providers() -> list[QuoteProvider]:
    return [TwseProvider(), TpexProvider()]
