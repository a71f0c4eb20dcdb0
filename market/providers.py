"""Where daily quotes come from, behind one interface.

TWSE and TPEx are the default real sources (keyless) of the latest trading day. FinLab (paid, optional:
FINLAB_API_KEY and the ``finlab`` package) serves history over a date range, for backfills
(``manage.py backfill_quotes``); the product works without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Protocol

from market.clients import finlab, tpex, twse
from market.clients.quotes import FeedRead
from market.models import Market


class QuoteProvider(Protocol):
    """A source of the latest trading day's quotes for one market."""

    @property
    def name(self) -> str: ...

    @property
    def market(self) -> str:
        """The Market value new stocks from this source join the master with."""
        ...

    def fetch_latest(
        self, *, default_date: dt.date | None = None, types: Collection[str] | None = None
    ) -> FeedRead:
        """The latest day's feed: rows without a date get ``default_date``; only ``types`` are read."""
        ...


class TwseProvider:
    name = "TWSE"
    market = Market.TWSE.value

    def fetch_latest(
        self, *, default_date: dt.date | None = None, types: Collection[str] | None = None
    ) -> FeedRead:
        return twse.fetch_daily_quotes(default_date=default_date, types=types)


class TpexProvider:
    name = "TPEx"
    market = Market.TPEX.value

    def fetch_latest(
        self, *, default_date: dt.date | None = None, types: Collection[str] | None = None
    ) -> FeedRead:
        return tpex.fetch_daily_quotes(default_date=default_date, types=types)


def default_providers(source: str = "all") -> list[QuoteProvider]:
    """The exchanges' providers: ``source`` is "twse", "tpex" or "all"."""
    providers: list[QuoteProvider] = []
    if source in {"twse", "all"}:
        providers.append(TwseProvider())
    if source in {"tpex", "all"}:
        providers.append(TpexProvider())
    return providers


class FinLabHistory:
    """FinLab's daily quotes over a date range, for both markets.

    The six price datasets are read once, at the first ``fetch_range``, and kept, so a long backfill can
    ask month by month. ``reader`` answers a dataset by name; the default logs in with FINLAB_API_KEY.
    """

    name = finlab.SOURCE
    # FinLab covers TWSE and TPEx alike and our notes document no market column for it: stocks never
    # join the master from here, so there is no market to give them.
    market = ""

    def __init__(self, *, reader: finlab.DatasetReader | None = None) -> None:
        self._reader = reader
        self._frames: finlab.PriceFrames | None = None

    def _price_frames(self) -> finlab.PriceFrames:
        if self._frames is None:
            self._frames = finlab.read_price_frames(self._reader or finlab.finlab_reader())
        return self._frames

    def fetch_range(
        self, start: dt.date, end: dt.date, *, codes: Collection[str] | None = None
    ) -> finlab.FinLabRange:
        """Quotes from ``start`` to ``end``, both included, of ``codes`` (every code FinLab has when None)."""
        return finlab.quotes_in_range(self._price_frames(), start=start, end=end, codes=codes)
