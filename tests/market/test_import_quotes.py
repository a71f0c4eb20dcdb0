from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from market.models import DailyQuote, Stock
from tests.factories import DailyQuoteFactory, StockFactory

pytestmark = pytest.mark.django_db

HEADER = "code,date,open,high,low,close,volume,turnover,change,transactions\n"
GOOD = (
    HEADER
    + '2330,2025-11-25,1440.00,1460.00,1435.00,1455.00,"28,001,000",40741455000,+10.00,50123\n'
    + "2330,2025-11-26,1455.00,1475.00,1450.00,1470.00,31234567,45678901234,15.00,56789\n"
    + "2303,2025-11-26,46.20,46.35,45.60,45.70,48120330,2215907112,-0.50,\n"
    # Suspended: no prices, no volume.
    + "2888,2025-11-26,,,,,0,0,,\n"
)


@pytest.fixture
def master() -> None:
    for code in ("2330", "2303", "2888"):
        StockFactory(code=code)


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quotes.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _run(path: Path) -> str:
    out = StringIO()
    call_command("import_quotes", str(path), stdout=out)
    return out.getvalue()


def test_a_good_file_is_stored_and_counted(tmp_path: Path, master: None) -> None:
    output = _run(_csv(tmp_path, GOOD))
    assert "4 rows, 4 created, 0 updated" in output
    tsmc = DailyQuote.objects.get(stock__code="2330", trade_date="2025-11-25")
    assert (tsmc.close, tsmc.volume, tsmc.change, tsmc.transactions) == (
        Decimal("1455.00"),
        28_001_000,
        Decimal("10.00"),
        50_123,
    )
    suspended = DailyQuote.objects.get(stock__code="2888")
    assert (suspended.close, suspended.volume) == (None, 0)
    assert DailyQuote.objects.get(stock__code="2303").transactions is None


def test_importing_the_same_file_again_updates_the_same_rows(tmp_path: Path, master: None) -> None:
    path = _csv(tmp_path, GOOD)
    _run(path)
    assert "4 rows, 0 created, 4 updated" in _run(path)
    assert DailyQuote.objects.count() == 4


def test_the_optional_columns_may_be_left_out(tmp_path: Path, master: None) -> None:
    text = "code,date,open,high,low,close,volume,turnover\n2330,2025-11-26,1455,1475,1450,1470,31234567,45678901234\n"
    _run(_csv(tmp_path, text))
    quote = DailyQuote.objects.get()
    assert (quote.change, quote.transactions) == (None, None)


def test_a_row_without_a_change_gets_it_from_the_previous_trading_days_close(
    tmp_path: Path, master: None
) -> None:
    DailyQuoteFactory(stock=Stock.objects.get(code="2303"), trade_date="2025-11-25", close=Decimal("46.20"))
    text = (
        "code,date,open,high,low,close,volume,turnover\n"
        "2330,2025-11-24,1440,1460,1435,1450,1,1\n"
        "2330,2025-11-25,1450,1460,1440,1455,1,1\n"
        "2330,2025-11-26,1455,1475,1450,1470,1,1\n"
        "2303,2025-11-26,46.2,46.35,45.6,45.7,1,1\n"
        # 2025-11-21 is a Friday: 2888's previous trading day close is not known, so no change.
        "2888,2025-11-24,10,11,9,10,1,1\n"
    )
    output = _run(_csv(tmp_path, text))
    assert "Change computed from the previous trading day's close for 3 rows" in output
    changes = list(
        DailyQuote.objects.filter(stock__code="2330").order_by("trade_date").values_list("change", flat=True)
    )
    assert changes == [None, Decimal("5.00"), Decimal("15.00")]
    assert DailyQuote.objects.get(stock__code="2303", trade_date="2025-11-26").change == Decimal("-0.50")
    assert DailyQuote.objects.get(stock__code="2888").change is None


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("2330,26/11/2025,1,2,1,2,1,1,,", "Row 4, column date: '26/11/2025' is not a date like 2025-11-26"),
        ("2330,2025-11-24,abc,2,1,2,1,1,,", "Row 4, column open: 'abc' is not a number"),
        ("2330,2025-11-24,10,9,11,10,1,1,,", "Row 4, column high: high 9.00 is below low 11.00"),
        ("2330,2025-11-24,12,11,9,10,1,1,,", "Row 4, column open: 12.00 is outside the day's low-high range"),
        ("2330,2025-11-24,-1,2,1,2,1,1,,", "Row 4, column open: '-1' is below zero; prices are positive"),
        ("2330,2025-11-24,1,2,1,2,,1,,", "Row 4, column volume: '' is empty; a whole number is required"),
        ("2330,2025-11-24,1,2,1,2,1.5,1,,", "Row 4, column volume: '1.5' is not a whole number"),
        ("9999,2025-11-24,1,2,1,2,1,1,,", "Row 4, column code: 9999 is not in the stock master"),
        (",2025-11-24,1,2,1,2,1,1,,", "Row 4, column code: the stock code is empty"),
        ("2330,2099-01-02,1,2,1,2,1,1,,", "Row 4, column date: 2099-01-02 is in the future"),
        ("2330,2025-11-25,1,2,1,2,1,1,,", "Row 4, column date: 2330 on 2025-11-25 is already in row 2"),
    ],
)
def test_a_bad_row_names_its_row_and_column_and_stores_nothing(
    tmp_path: Path, master: None, bad_line: str, message: str
) -> None:
    lines = GOOD.splitlines()
    text = "\n".join([*lines[:3], bad_line, *lines[3:]]) + "\n"
    with pytest.raises(CommandError, match=message):
        _run(_csv(tmp_path, text))
    assert not DailyQuote.objects.exists()


def test_a_missing_column_is_named(tmp_path: Path, master: None) -> None:
    with pytest.raises(CommandError, match=r"Row 1: quotes.csv lacks the column.s. turnover"):
        _run(_csv(tmp_path, "code,date,open,high,low,close,volume\n2330,2025-11-26,1,2,1,2,1\n"))


def test_a_file_without_rows_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"quotes.csv has no quote rows"):
        _run(_csv(tmp_path, HEADER))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"No such file"):
        _run(tmp_path / "nowhere.csv")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path, master: None) -> None:
    path = tmp_path / "quotes.csv"
    path.write_bytes((HEADER + "2330,2025-11-26,1,2,1,2,1,1,台積電,\n").encode("big5"))
    with pytest.raises(CommandError, match=r"quotes.csv is not UTF-8 text"):
        _run(path)
    assert not DailyQuote.objects.exists()
