"""FinLab (paid, optional, needs FINLAB_API_KEY and the ``finlab`` package): daily quotes for history.

``finlab.data.get("price:收盤價")`` and its siblings (開盤價, 最高價, 最低價, 成交股數, 成交金額) answer wide
DataFrames: one row per trading day, one column per stock code, NaN where a stock has no value that day
(suspended, not yet listed, delisted). The ``finlab`` package is not a dependency of KOL Studio: it is
imported only when a dataset is read, and everything here works on frames from any ``DatasetReader``.

Nothing is filled in: a day without a close is left out, never carried forward; a close without its volume
or turnover is left out too. ``change`` is the close minus the previous trading day's close (the previous
date in FinLab's index) and stays empty when that close is missing. On ex-rights/ex-dividend days the
exchanges measure change against a reference price instead, so theirs can differ from this one.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from django.conf import settings
from django.utils.translation import gettext as _

from market.clients.http import SourceNotConfigured, SourceRequestFailed, SourceResponseInvalid
from market.clients.quotes import Quote, parse_price, parse_whole

logger = logging.getLogger(__name__)

SOURCE = "FinLab"

DatasetReader = Callable[[str], pd.DataFrame]
"""Answers one FinLab dataset by name ("price:收盤價") as FinLab's wide DataFrame."""

OPEN = "price:開盤價"
HIGH = "price:最高價"
LOW = "price:最低價"
CLOSE = "price:收盤價"
VOLUME = "price:成交股數"  # shares
TURNOVER = "price:成交金額"  # TWD
DATASETS = (OPEN, HIGH, LOW, CLOSE, VOLUME, TURNOVER)
# Quote field -> the dataset holding it.
_FIELDS = {"open": OPEN, "high": HIGH, "low": LOW, "close": CLOSE, "volume": VOLUME, "turnover": TURNOVER}


class FinLabNotInstalled(SourceNotConfigured):
    """FINLAB_API_KEY is set but the optional ``finlab`` package cannot be imported."""

    code = "market_source_not_installed"


# --- Reading datasets -------------------------------------------------------------------------------


def _redact(error: BaseException, secret: str) -> str:
    text = str(error) or type(error).__name__
    return text.replace(secret, "***") if secret else text


def finlab_reader() -> DatasetReader:
    """Log in to FinLab with FINLAB_API_KEY and answer ``finlab.data.get``; the key is never shown."""
    key = settings.FINLAB_API_KEY
    if not key:
        raise SourceNotConfigured(
            _("FinLab is not configured: set FINLAB_API_KEY to read quotes from FinLab."), source=SOURCE
        )
    try:
        import finlab
        from finlab import data
    except ImportError as exc:
        raise FinLabNotInstalled(
            _(
                "The optional finlab package is not installed (%(error)s): install it with "
                "“pip install finlab” to read quotes from FinLab."
            )
            % {"error": exc},
            source=SOURCE,
        ) from None
    try:
        finlab.login(key)
    except Exception as exc:  # any failure inside the vendor package is a failed source
        # ``from None``: the vendor's own exception (and its traceback) might carry the key.
        raise SourceRequestFailed(
            _("FinLab refused the login: %(error)s.") % {"error": _redact(exc, key)}, source=SOURCE
        ) from None

    def read(name: str) -> pd.DataFrame:
        try:
            return data.get(name)
        except Exception as exc:  # as above
            raise SourceRequestFailed(
                _("FinLab could not read %(dataset)s: %(error)s.")
                % {"dataset": name, "error": _redact(exc, key)},
                source=SOURCE,
            ) from None

    return read


def _invalid(message: str) -> SourceResponseInvalid:
    return SourceResponseInvalid(message, source=SOURCE)


def _day(value: Any, *, dataset: str) -> dt.date:
    if isinstance(value, dt.datetime) and not pd.isna(value):
        return value.date()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise _invalid(
        _("FinLab %(dataset)s has %(value)r in its index where a date was expected.")
        % {"dataset": dataset, "value": value}
    )


def _normalised(frame: Any, *, dataset: str) -> pd.DataFrame:
    """The frame indexed by ``datetime.date`` (oldest first) with string stock codes as columns."""
    if not isinstance(frame, pd.DataFrame):
        raise _invalid(
            _("FinLab answered %(dataset)s with %(kind)s where a DataFrame was expected.")
            % {"dataset": dataset, "kind": type(frame).__name__}
        )
    days = pd.Index([_day(value, dataset=dataset) for value in frame.index], dtype=object)
    codes = pd.Index([str(code).strip() for code in frame.columns], dtype=object)
    if not days.is_unique or not codes.is_unique:
        # Which of two rows for one day (or one code) is right is unknown.
        raise _invalid(_("FinLab %(dataset)s lists a date or a stock code twice.") % {"dataset": dataset})
    return frame.set_axis(days, axis=0).set_axis(codes, axis=1).sort_index()


@dataclass(frozen=True)
class PriceFrames:
    """FinLab's six daily price datasets, normalised; ``close`` decides which days and codes exist."""

    open: pd.DataFrame
    high: pd.DataFrame
    low: pd.DataFrame
    close: pd.DataFrame
    volume: pd.DataFrame
    turnover: pd.DataFrame


def read_price_frames(reader: DatasetReader) -> PriceFrames:
    frames = {dataset: _normalised(reader(dataset), dataset=dataset) for dataset in DATASETS}
    close = frames[CLOSE]
    logger.info("FinLab price frames read: %d dates x %d codes", len(close.index), len(close.columns))
    return PriceFrames(
        open=frames[OPEN],
        high=frames[HIGH],
        low=frames[LOW],
        close=close,
        volume=frames[VOLUME],
        turnover=frames[TURNOVER],
    )


# --- Frames to quotes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FinLabRange:
    """The quotes of a date range, and what was left out of it and why."""

    quotes: list[Quote]
    trading_days: int  # dates in FinLab's index within the range
    no_close: int  # (day, code) cells without a close: suspended, not yet listed or delisted
    incomplete: int  # a close without its volume or turnover
    unknown_codes: dict[str, int]  # codes outside ``codes`` that have closes in the range: their count


def _values(frame: pd.DataFrame, days: list[dt.date], codes: list[str], *, dataset: str) -> Any:
    """A float array of ``frame`` over days x codes; NaN where the frame has no such day or code."""
    aligned = frame.reindex(index=pd.Index(days, dtype=object), columns=pd.Index(codes, dtype=object))
    try:
        return aligned.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise _invalid(
            _("FinLab %(dataset)s holds values that are not numbers (%(error)s).")
            % {"dataset": dataset, "error": exc}
        ) from exc


class _Cell:
    """One (day, code) of the aligned arrays; every error names the dataset, the day and the code."""

    def __init__(self, day: dt.date, code: str) -> None:
        self.day = day
        self.code = code

    def read(self, value: float, parser: Callable[[str], Any], *, dataset: str) -> Any:
        if math.isnan(value):
            return None
        try:
            return parser(repr(value))
        except ValueError as exc:
            raise _invalid(
                _("FinLab %(dataset)s on %(day)s for %(code)s: %(value)r is %(problem)s.")
                % {"dataset": dataset, "day": self.day, "code": self.code, "value": value, "problem": exc}
            ) from exc


def _quote(cell: _Cell, row: dict[str, float], previous: Decimal | None) -> Quote | None:
    """The quote of one cell, or None when its close, volume or turnover is missing (the caller counts why)."""
    close = cell.read(row["close"], parse_price, dataset=CLOSE)
    volume = cell.read(row["volume"], parse_whole, dataset=VOLUME)
    turnover = cell.read(row["turnover"], parse_whole, dataset=TURNOVER)
    if close is None or volume is None or turnover is None:
        return None
    quote = Quote(
        trade_date=cell.day,
        code=cell.code,
        name="",
        open=cell.read(row["open"], parse_price, dataset=OPEN),
        high=cell.read(row["high"], parse_price, dataset=HIGH),
        low=cell.read(row["low"], parse_price, dataset=LOW),
        close=close,
        change=None if previous is None else close - previous,
        volume=volume,
        turnover=turnover,
        transactions=None,  # FinLab's price datasets have no trade count
    )
    if quote.high is not None and quote.low is not None and quote.high < quote.low:
        raise _invalid(
            _("FinLab on %(day)s for %(code)s: high %(high)s is below low %(low)s.")
            % {"day": cell.day, "code": cell.code, "high": quote.high, "low": quote.low}
        )
    return quote


def _unknown_codes(frames: PriceFrames, days: list[dt.date], codes: list[str]) -> dict[str, int]:
    if not days or not codes:
        return {}
    closes = frames.close.reindex(index=pd.Index(days, dtype=object), columns=pd.Index(codes, dtype=object))
    counts = closes.notna().sum()
    return {str(code): int(count) for code, count in counts.items() if count}


def _previous_close(
    closes: Any, window: list[dt.date], *, position: int, column: int, code: str
) -> Decimal | None:
    """The close of the day before ``position`` in FinLab's index, when FinLab has one."""
    if position == 0:
        return None
    cell = _Cell(window[position - 1], code)
    return cell.read(float(closes[position - 1, column]), parse_price, dataset=CLOSE)


def quotes_in_range(
    frames: PriceFrames, *, start: dt.date, end: dt.date, codes: Collection[str] | None = None
) -> FinLabRange:
    """The quotes from ``start`` to ``end`` (both included) of ``codes`` (every code when None)."""
    index: list[dt.date] = list(frames.close.index)
    first = bisect.bisect_left(index, start)
    days = index[first : bisect.bisect_right(index, end)]
    # One day before the range, when FinLab has it, gives the first day's change.
    window = index[first - 1 : first] + days
    chosen = [code for code in frames.close.columns if codes is None or code in codes]
    others = [code for code in frames.close.columns if codes is not None and code not in codes]
    arrays = {
        field: _values(getattr(frames, field), window, chosen, dataset=dataset)
        for field, dataset in _FIELDS.items()
    }
    quotes: list[Quote] = []
    no_close = incomplete = 0
    for position, day in enumerate(days, start=len(window) - len(days)):
        for column, code in enumerate(chosen):
            row = {field: float(values[position, column]) for field, values in arrays.items()}
            previous = _previous_close(arrays["close"], window, position=position, column=column, code=code)
            quote = _quote(_Cell(day, code), row, previous)
            if quote is not None:
                quotes.append(quote)
            elif math.isnan(row["close"]) or row["close"] == 0:
                no_close += 1
            else:
                incomplete += 1
    return FinLabRange(
        quotes=quotes,
        trading_days=len(days),
        no_close=no_close,
        incomplete=incomplete,
        unknown_codes=_unknown_codes(frames, days, others),
    )
