"""The daily-quote shape both exchanges share once parsed, and the readers for their string values.

Both OpenAPIs send every value as a string: thousands separators ("1,234,567"), ROC dates ("1141126" or
"114/11/26" = 2025-11-26), signed changes ("+1.50", "-0.5", "X0.00", sometimes "除息") and "--" or ""
where a stock did not trade. Nothing is guessed: a value we cannot read is an error naming the row and
field; a stock without a trade keeps empty prices and zero volume.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from market.clients.http import SourceResponseInvalid

_ROC_DATE = re.compile(r"^(\d{2,3})/(\d{1,2})/(\d{1,2})$")
_ROC_COMPACT = re.compile(r"^(\d{2,3})(\d{2})(\d{2})$")
_GREGORIAN_COMPACT = re.compile(r"^((?:19|20)\d{2})(\d{2})(\d{2})$")
_ROC_EPOCH = 1911
# How the exchanges write "no value": no trade, not comparable, not applicable.
_EMPTY = {"", "-", "--", "---", "----", "N/A", "X"}
# A change that is not comparable with the previous close (ex-rights/ex-dividend day) has no number.
_CHANGE_WITHOUT_NUMBER = {"除息", "除權", "除權息", "除權除息"}
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Quote:
    """One stock's trading day as a source published it. Prices are None when the stock did not trade."""

    trade_date: dt.date
    code: str
    name: str
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    close: Decimal | None
    change: Decimal | None
    volume: int  # shares
    turnover: int  # TWD
    transactions: int | None


@dataclass(frozen=True)
class QuoteFields:
    """The field names one source uses; where a name is uncertain, the alternates are tried in order."""

    trade_date: tuple[str, ...]
    code: tuple[str, ...]
    name: tuple[str, ...]
    open: tuple[str, ...]
    high: tuple[str, ...]
    low: tuple[str, ...]
    close: tuple[str, ...]
    change: tuple[str, ...]
    volume: tuple[str, ...]
    turnover: tuple[str, ...]
    transactions: tuple[str, ...]


def parse_roc_date(value: str) -> dt.date:
    """``1141126``, ``114/11/26`` or ``114/1/5`` (ROC year + 1911) to a date.

    An eight-digit Gregorian ``20251126`` is read as such, in case a source switches calendars.
    """
    text = value.strip()
    gregorian = _GREGORIAN_COMPACT.match(text)
    if gregorian is not None:
        year, month, day = (int(part) for part in gregorian.groups())
        return dt.date(year, month, day)
    match = _ROC_COMPACT.match(text) or _ROC_DATE.match(text)
    if match is None:
        raise ValueError(_("not an ROC date like 1141126 or 114/11/26"))
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year + _ROC_EPOCH, month, day)


def _number(value: str) -> Decimal | None:
    text = value.strip().replace(",", "")
    if text in _EMPTY:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(_("not a number")) from exc
    if not number.is_finite():
        raise ValueError(_("not a number"))
    return number


def parse_price(value: str) -> Decimal | None:
    """A price in TWD, or None when the stock did not trade ("--", "" or a zero price)."""
    number = _number(value)
    if number is None or number == 0:
        return None
    if number < 0:
        raise ValueError(_("below zero; prices are positive"))
    # Taiwan's smallest tick is 0.01 TWD; some feeds pad to four places ("190.2500").
    return number.quantize(_CENT, rounding=ROUND_HALF_UP)


def parse_change(value: str) -> Decimal | None:
    """A signed change: "+1.50", "-0.5", "0.00"; "X0.00" marks a non-comparable day and keeps its number."""
    text = value.strip()
    if text in _CHANGE_WITHOUT_NUMBER:
        return None
    if text.upper().startswith("X"):
        text = text[1:]
    number = _number(text)
    return None if number is None else number.quantize(_CENT, rounding=ROUND_HALF_UP)


def parse_whole(value: str) -> int | None:
    """A whole number such as a share count ("1,234,567"), or None where the source left it empty."""
    number = _number(value)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise ValueError(_("not a whole number of at least 0"))
    return int(number)


class _Row:
    """One row of a feed; every error names the source, the row (1-based) and the field."""

    def __init__(self, row: Any, *, source: str, number: int) -> None:
        if not isinstance(row, Mapping):
            raise SourceResponseInvalid(
                _("%(source)s row %(row)s is not an object: %(value)r")
                % {"source": source, "row": number, "value": row},
                source=source,
            )
        self.row = row
        self.source = source
        self.number = number

    def field(self, names: Sequence[str], *, required: bool = True) -> tuple[str, str] | None:
        for name in names:
            if name in self.row and self.row[name] is not None:
                return name, str(self.row[name])
        if not required:
            return None
        raise SourceResponseInvalid(
            _("%(source)s row %(row)s has no field %(field)s.")
            % {"source": self.source, "row": self.number, "field": " / ".join(names)},
            source=self.source,
        )

    def read(self, names: Sequence[str], parser: Any, *, required: bool = True) -> Any:
        found = self.field(names, required=required)
        if found is None:
            return None
        name, value = found
        try:
            return parser(value)
        except ValueError as exc:
            raise SourceResponseInvalid(
                _("%(source)s row %(row)s field %(field)s: %(value)r is %(problem)s.")
                % {"source": self.source, "row": self.number, "field": name, "value": value, "problem": exc},
                source=self.source,
            ) from exc


def _text(value: str) -> str:
    return value.strip()


def quote_from_row(row: Any, *, fields: QuoteFields, source: str, number: int) -> Quote:
    reader = _Row(row, source=source, number=number)
    code = reader.read(fields.code, _text)
    if not code:
        raise SourceResponseInvalid(
            _("%(source)s row %(row)s has an empty stock code.") % {"source": source, "row": number},
            source=source,
        )
    quote = Quote(
        trade_date=reader.read(fields.trade_date, parse_roc_date),
        code=code,
        name=reader.read(fields.name, _text),
        open=reader.read(fields.open, parse_price),
        high=reader.read(fields.high, parse_price),
        low=reader.read(fields.low, parse_price),
        close=reader.read(fields.close, parse_price),
        change=reader.read(fields.change, parse_change),
        volume=reader.read(fields.volume, parse_whole) or 0,
        turnover=reader.read(fields.turnover, parse_whole) or 0,
        transactions=reader.read(fields.transactions, parse_whole, required=False),
    )
    if quote.high is not None and quote.low is not None and quote.high < quote.low:
        raise SourceResponseInvalid(
            _("%(source)s row %(row)s (%(code)s): high %(high)s is below low %(low)s.")
            % {"source": source, "row": number, "code": code, "high": quote.high, "low": quote.low},
            source=source,
        )
    return quote


def quotes_from_body(body: Any, *, fields: QuoteFields, source: str) -> list[Quote]:
    """A whole feed: a JSON array of row objects."""
    if not isinstance(body, list):
        raise SourceResponseInvalid(
            _("%(source)s answered with %(kind)s where a list of quotes was expected.")
            % {"source": source, "kind": type(body).__name__},
            source=source,
        )
    return [
        quote_from_row(row, fields=fields, source=source, number=number)
        for number, row in enumerate(body, start=1)
    ]
