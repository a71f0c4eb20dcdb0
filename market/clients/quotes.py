"""The daily-quote shape both exchanges share once parsed, and the readers for their string values.

Both OpenAPIs send every value as a string: thousands separators ("1,234,567"), ROC dates ("1141126" or
"114/11/26" = 2025-11-26), signed changes ("+1.50", "-0.5", "X0.00", sometimes "除息") and "--" or ""
where a stock did not trade. Nothing is guessed: a value we cannot read makes its row a BadRow naming the row
and field, skipped and counted by reason (one odd row must not lose a day); a stock without a trade keeps
empty prices and zero volume.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

from django.utils.translation import gettext as _

from market.clients.http import SourceResponseInvalid
from market.instruments import instrument_type_of
from market.models import InstrumentType

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


class BadRow(ValueError):
    """One row that cannot be read; ``reason`` groups it in the feed's counts."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


# Why a row was skipped; the summary of a fetch counts rows by these.
REASON_NOT_AN_OBJECT = "not_an_object"
REASON_MISSING_FIELD = "missing_field"
REASON_UNREADABLE = "unreadable_value"
REASON_NO_CODE = "no_code"
REASON_NO_DATE = "no_date"
REASON_HIGH_BELOW_LOW = "high_below_low"
REASON_DUPLICATE = "duplicate_code"
_PROBLEMS_KEPT = 5


class _Row:
    """One row of a feed; every error names the source, the row (1-based) and the field."""

    def __init__(self, row: Any, *, source: str, number: int) -> None:
        if not isinstance(row, Mapping):
            raise BadRow(
                _("%(source)s row %(row)s is not an object: %(value)r")
                % {"source": source, "row": number, "value": row},
                reason=REASON_NOT_AN_OBJECT,
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
        raise BadRow(
            _("%(source)s row %(row)s has no field %(field)s.")
            % {"source": self.source, "row": self.number, "field": " / ".join(names)},
            reason=REASON_MISSING_FIELD,
        )

    def read(self, names: Sequence[str], parser: Any, *, required: bool = True) -> Any:
        found = self.field(names, required=required)
        if found is None:
            return None
        name, value = found
        try:
            return parser(value)
        except ValueError as exc:
            raise BadRow(
                _("%(source)s row %(row)s field %(field)s: %(value)r is %(problem)s.")
                % {"source": self.source, "row": self.number, "field": name, "value": value, "problem": exc},
                reason=REASON_UNREADABLE,
            ) from exc


def _text(value: str) -> str:
    return value.strip()


def _trade_date(reader: _Row, fields: QuoteFields, default_date: dt.date | None) -> dt.date:
    found = reader.field(fields.trade_date, required=False)
    if found is not None and found[1].strip():
        return cast(dt.date, reader.read(fields.trade_date, parse_roc_date))
    if default_date is None:
        raise BadRow(
            _("%(source)s row %(row)s has no date.") % {"source": reader.source, "row": reader.number},
            reason=REASON_NO_DATE,
        )
    return default_date


def _code_and_name(reader: _Row, fields: QuoteFields) -> tuple[str, str]:
    code = reader.read(fields.code, _text)
    if not code:
        raise BadRow(
            _("%(source)s row %(row)s has an empty stock code.")
            % {"source": reader.source, "row": reader.number},
            reason=REASON_NO_CODE,
        )
    return code, reader.read(fields.name, _text)


def _quote(reader: _Row, fields: QuoteFields, *, code: str, name: str, day: dt.date) -> Quote:
    quote = Quote(
        trade_date=day,
        code=code,
        name=name,
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
        raise BadRow(
            _("%(source)s row %(row)s (%(code)s): high %(high)s is below low %(low)s.")
            % {
                "source": reader.source,
                "row": reader.number,
                "code": code,
                "high": quote.high,
                "low": quote.low,
            },
            reason=REASON_HIGH_BELOW_LOW,
        )
    return quote


def quote_from_row(
    row: Any, *, fields: QuoteFields, source: str, number: int, default_date: dt.date | None = None
) -> Quote:
    """One row as a Quote; raises BadRow naming the row and field. A row without a date gets ``default_date``."""
    reader = _Row(row, source=source, number=number)
    code, name = _code_and_name(reader, fields)
    day = _trade_date(reader, fields, default_date)
    return _quote(reader, fields, code=code, name=name, day=day)


@dataclass
class FeedRead:
    """A whole feed as read: the quotes of the wanted instrument types and what was left out, and why."""

    source: str
    rows: int = 0
    quotes: list[Quote] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)  # code -> InstrumentType value, for new stocks
    skipped: Counter[str] = field(default_factory=Counter)  # bad rows by reason
    not_stored: Counter[str] = field(default_factory=Counter)  # rows of types not stored, by type
    undated: int = 0  # rows that carried no Date and got the trading day being fetched
    problems: list[str] = field(default_factory=list)  # the first few bad rows, as sentences

    @property
    def bad(self) -> int:
        return sum(self.skipped.values())

    def skip(self, error: BadRow) -> None:
        self.skipped[error.reason] += 1
        if len(self.problems) < _PROBLEMS_KEPT:
            self.problems.append(error.message)


def _drop_duplicates(read: FeedRead) -> None:
    # Which copy of a code listed twice is right is unknown: neither is stored.
    counts = Counter(quote.code for quote in read.quotes)
    twice = {code for code, count in counts.items() if count > 1}
    if twice:
        read.quotes = [quote for quote in read.quotes if quote.code not in twice]
        read.skipped[REASON_DUPLICATE] += sum(counts[code] for code in twice)
        read.problems.append(
            _("%(source)s lists %(codes)s more than once; none of those rows is stored.")
            % {"source": read.source, "codes": ", ".join(sorted(twice))}
        )


def _read_row(
    read: FeedRead,
    row: Any,
    number: int,
    *,
    fields: QuoteFields,
    default_date: dt.date | None,
    types: Collection[str] | None,
) -> None:
    try:
        reader = _Row(row, source=read.source, number=number)
        code, name = _code_and_name(reader, fields)
        kind = instrument_type_of(code, name).value
        if types is not None and kind not in types:
            read.not_stored[kind] += 1
            return
        undated = reader.field(fields.trade_date, required=False) is None
        day = _trade_date(reader, fields, default_date)
        read.quotes.append(_quote(reader, fields, code=code, name=name, day=day))
        read.types[code] = kind
        read.undated += int(undated)
    except BadRow as error:
        read.skip(error)


def _check_read(read: FeedRead, *, max_bad_percent: float) -> None:
    """Fail the whole feed only when its stock rows cannot be read or too many rows are bad."""
    read_rows = len(read.quotes) + read.bad
    if read.bad and not any(kind == InstrumentType.COMMON for kind in read.types.values()):
        raise SourceResponseInvalid(
            _("%(source)s: none of its stock rows could be read (%(bad)s bad rows; first: %(first)s)")
            % {"source": read.source, "bad": read.bad, "first": read.problems[0]},
            source=read.source,
        )
    if read_rows and read.bad * 100 > max_bad_percent * read_rows:
        raise SourceResponseInvalid(
            _("%(source)s: %(bad)s of %(rows)s rows are bad, more than %(percent)s%% (first: %(first)s)")
            % {
                "source": read.source,
                "bad": read.bad,
                "rows": read_rows,
                "percent": max_bad_percent,
                "first": read.problems[0],
            },
            source=read.source,
        )


def feed_read(
    body: Any,
    *,
    fields: QuoteFields,
    source: str,
    default_date: dt.date | None = None,
    types: Collection[str] | None = None,
    max_bad_percent: float = 100.0,
) -> FeedRead:
    """A whole feed: a JSON array of row objects, read row by row.

    A row that cannot be read is skipped and counted by reason; rows of instrument types outside ``types``
    (None: every type) are counted by type and not parsed further. Rows without a date get
    ``default_date`` (the caller decides whether that day is really the one served).
    """
    if not isinstance(body, list):
        raise SourceResponseInvalid(
            _("%(source)s answered with %(kind)s where a list of quotes was expected.")
            % {"source": source, "kind": type(body).__name__},
            source=source,
        )
    read = FeedRead(source=source, rows=len(body))
    for number, row in enumerate(body, start=1):
        _read_row(read, row, number, fields=fields, default_date=default_date, types=types)
    _drop_duplicates(read)
    _check_read(read, max_bad_percent=max_bad_percent)
    return read
