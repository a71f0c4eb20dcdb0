"""FinLab history backfill: FinLab's wide frames in, DailyQuote rows out, through ``backfill_quotes``.

FinLab is reached through the ``finlab`` package, which does its own I/O; the boundary replaced here is the
dataset reader (``DatasetReader``) the command takes, answering frames in FinLab's documented shape.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import math
import os
import subprocess
import sys
import types
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from typing import Any

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from market.management.commands import backfill_quotes
from market.models import DailyQuote, Market, Stock
from tests.conftest import PYTHON, ROOT
from tests.factories import DailyQuoteFactory, StockFactory

pytestmark = pytest.mark.django_db

NAN = math.nan
KEY = "fl-secret-7f3a9c1e"
DATES = ["2025-11-24", "2025-11-25", "2025-11-26", "2025-11-27"]
CODES = ["2330", "6488", "2888", "9999"]  # 9999 is not in the stock master
# One row per date, one column per code, NaN where FinLab has nothing: 2888 is suspended on 11-26,
# 6488 has a close but no turnover on 11-27, 9999 stops trading on 11-27.
COLUMNS = {
    "price:開盤價": [
        [1430.0, 421.0, 8.50, 12.00],
        [1440.0, 420.0, 8.50, 12.05],
        [1455.0, 418.5, NAN, 12.10],
        [1470.0, 422.0, 8.60, NAN],
    ],
    "price:最高價": [
        [1445.0, 423.0, 8.55, 12.10],
        [1460.0, 421.0, 8.65, 12.15],
        [1475.0, 422.0, NAN, 12.40],
        [1475.0, 426.5, 8.75, NAN],
    ],
    "price:最低價": [
        [1425.0, 419.0, 8.45, 11.95],
        [1435.0, 416.5, 8.50, 12.00],
        [1450.0, 418.0, NAN, 12.05],
        [1460.0, 421.0, 8.60, NAN],
    ],
    "price:收盤價": [
        [1440.0, 420.5, 8.50, 12.00],
        [1455.0, 418.0, 8.60, 12.10],
        [1470.0, 421.5, NAN, 12.30],
        [1465.0, 425.0, 8.70, NAN],
    ],
    "price:成交股數": [
        [25_112_000.0, 1_234_000.0, 3_456_000.0, 10_000.0],
        [28_001_000.0, 1_100_500.0, 2_980_000.0, 12_000.0],
        [31_234_567.0, 998_000.0, NAN, 9_000.0],
        [26_500_000.0, 1_050_000.0, 4_120_000.0, NAN],
    ],
    "price:成交金額": [
        [36_161_280_000.0, 518_912_000.0, 29_376_000.0, 120_000.0],
        [40_741_455_000.0, 460_009_000.0, 25_628_000.0, 145_200.0],
        [45_678_901_234.0, 420_658_000.0, NAN, 110_700.0],
        [38_822_500_000.0, NAN, 35_844_000.0, NAN],
    ],
}


def _frame(rows: list[list[float]]) -> pd.DataFrame:
    """FinLab's shape: a DatetimeIndex named date, stock codes as string columns, floats with NaN."""
    index = pd.DatetimeIndex(pd.to_datetime(DATES), name="date")
    return pd.DataFrame(rows, index=index, columns=pd.Index(CODES, name="symbol"), dtype=float)


def _reader(columns: dict[str, list[list[float]]] | None = None) -> Callable[[str], pd.DataFrame]:
    frames = {name: _frame(rows) for name, rows in (columns or COLUMNS).items()}
    return lambda name: frames[name].copy()


@pytest.fixture
def master() -> None:
    StockFactory(code="2330", name="台積電", market=Market.TWSE)
    StockFactory(code="6488", name="環球晶", market=Market.TPEX)
    StockFactory(code="2888", name="新光金", market=Market.TWSE)


def _backfill(*args: str, reader: Callable[[str], pd.DataFrame] | None = None) -> str:
    out = StringIO()
    command = backfill_quotes.Command(reader=reader or _reader())
    call_command(command, "--source", "finlab", *args, stdout=out)
    return out.getvalue()


def _stored() -> list[tuple[Any, ...]]:
    return list(
        DailyQuote.objects.order_by("stock__code", "trade_date").values_list(
            "stock__code",
            "trade_date",
            "open",
            "high",
            "low",
            "close",
            "change",
            "volume",
            "turnover",
            "transactions",
        )
    )


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _d(text: str) -> Decimal:
    return Decimal(text)


def test_the_backfill_stores_every_complete_quote_of_the_master_exactly(master: None) -> None:
    _backfill("--from", "2025-11-25", "--to", "2025-11-27")
    assert _stored() == [
        # The first day's change comes from 11-24, the day before the range, which FinLab has.
        ("2330", _day("2025-11-25"), _d("1440.00"), _d("1460.00"), _d("1435.00"), _d("1455.00"), _d("15.00"), 28_001_000, 40_741_455_000, None),
        ("2330", _day("2025-11-26"), _d("1455.00"), _d("1475.00"), _d("1450.00"), _d("1470.00"), _d("15.00"), 31_234_567, 45_678_901_234, None),
        ("2330", _day("2025-11-27"), _d("1470.00"), _d("1475.00"), _d("1460.00"), _d("1465.00"), _d("-5.00"), 26_500_000, 38_822_500_000, None),
        # 2888: suspended on 11-26 (not stored), so 11-27 has no change: its previous close is missing.
        ("2888", _day("2025-11-25"), _d("8.50"), _d("8.65"), _d("8.50"), _d("8.60"), _d("0.10"), 2_980_000, 25_628_000, None),
        ("2888", _day("2025-11-27"), _d("8.60"), _d("8.75"), _d("8.60"), _d("8.70"), None, 4_120_000, 35_844_000, None),
        # 6488 on 11-27 has no turnover: left out, never filled in.
        ("6488", _day("2025-11-25"), _d("420.00"), _d("421.00"), _d("416.50"), _d("418.00"), _d("-2.50"), 1_100_500, 460_009_000, None),
        ("6488", _day("2025-11-26"), _d("418.50"), _d("422.00"), _d("418.00"), _d("421.50"), _d("3.50"), 998_000, 420_658_000, None),
    ]  # fmt: skip


def test_a_code_outside_the_stock_master_is_reported_and_not_added(master: None) -> None:
    output = _backfill("--from", "2025-11-25", "--to", "2025-11-27")
    assert "Skipped, codes not in the stock master: 2 (9999; add them" in output
    assert not Stock.objects.filter(code="9999").exists()
    assert set(Stock.objects.values_list("code", "market")) == {
        ("2330", Market.TWSE),
        ("6488", Market.TPEX),
        ("2888", Market.TWSE),
    }


def test_the_report_counts_what_was_stored_and_why_the_rest_was_skipped(master: None) -> None:
    output = _backfill("--from", "2025-11-25", "--to", "2025-11-27")
    assert output.splitlines() == [
        "FinLab 2025-11-25 to 2025-11-27 (trading days with data: 3): stored 7, updated 0.",
        "Skipped, already stored (kept; --overwrite replaces them): 0.",
        "Skipped, codes not in the stock master: 2 (9999; add them with manage.py load_stocks first).",
        "Skipped, no close that day (suspended, not yet listed or delisted): 1.",
        "Skipped, a close without volume or turnover (never filled in): 1.",
    ]


def test_the_first_day_finlab_has_gets_no_change(master: None) -> None:
    _backfill("--from", "2025-11-24", "--to", "2025-11-24")
    assert set(DailyQuote.objects.values_list("stock__code", "change")) == {
        ("2330", None),
        ("6488", None),
        ("2888", None),
    }


def test_running_the_backfill_twice_changes_nothing(master: None) -> None:
    _backfill("--from", "2025-11-24", "--to", "2025-11-27")
    first = list(DailyQuote.objects.order_by("pk").values())
    output = _backfill("--from", "2025-11-24", "--to", "2025-11-27")
    assert list(DailyQuote.objects.order_by("pk").values()) == first
    assert "stored 0, updated 0." in output
    assert "Skipped, already stored (kept; --overwrite replaces them): 10." in output


def test_quotes_already_stored_are_kept_unless_overwrite(master: None) -> None:
    tsmc = Stock.objects.get(code="2330")
    DailyQuoteFactory(
        stock=tsmc,
        trade_date=_day("2025-11-25"),
        open=Decimal("1440"),
        high=Decimal("1460"),
        low=Decimal("1435"),
        close=Decimal("1455"),
        change=Decimal("10.00"),
        volume=28_001_000,
        turnover=40_741_455_000,
        transactions=50_123,
    )
    output = _backfill("--from", "2025-11-25", "--to", "2025-11-25")
    assert (
        "stored 2, updated 0." in output and "already stored (kept; --overwrite replaces them): 1." in output
    )
    kept = DailyQuote.objects.get(stock=tsmc, trade_date="2025-11-25")
    assert (kept.change, kept.transactions) == (Decimal("10.00"), 50_123)

    output = _backfill("--from", "2025-11-25", "--to", "2025-11-25", "--overwrite")
    assert "stored 0, updated 3." in output
    replaced = DailyQuote.objects.get(stock=tsmc, trade_date="2025-11-25")
    assert (replaced.change, replaced.transactions) == (Decimal("15.00"), None)


def test_a_range_across_months_is_stored_month_by_month_with_the_change_across_them(master: None) -> None:
    index = pd.DatetimeIndex(pd.to_datetime(["2025-10-30", "2025-10-31", "2025-11-03"]), name="date")
    prices = pd.DataFrame([[10.0], [11.0], [12.5]], index=index, columns=["2330"])
    amounts = pd.DataFrame([[1_000.0], [2_000.0], [3_000.0]], index=index, columns=["2330"])
    frames = {name: amounts if name in {"price:成交股數", "price:成交金額"} else prices for name in COLUMNS}
    output = _backfill("--from", "2025-10-31", "--to", "2025-11-30", reader=lambda name: frames[name])
    assert "(trading days with data: 2): stored 2, updated 0." in output
    assert list(DailyQuote.objects.order_by("trade_date").values_list("trade_date", "change")) == [
        (_day("2025-10-31"), Decimal("1.00")),
        (_day("2025-11-03"), Decimal("1.50")),
    ]


def test_months_stored_before_a_failure_are_kept_and_reported(master: None) -> None:
    index = pd.DatetimeIndex(pd.to_datetime(["2025-10-31", "2025-11-03"]), name="date")
    prices = pd.DataFrame([[11.0], [12.5]], index=index, columns=["2330"])
    amounts = pd.DataFrame([[2_000.0], [2_500.5]], index=index, columns=["2330"])  # half a share in November
    frames = {name: amounts if name in {"price:成交股數", "price:成交金額"} else prices for name in COLUMNS}
    out = StringIO()
    with pytest.raises(
        CommandError, match=r"price:成交股數 on 2025-11-03 for 2330: 2500.5 is not a whole number"
    ):
        call_command(
            backfill_quotes.Command(reader=lambda name: frames[name]),
            *("--source", "finlab", "--from", "2025-10-01", "--to", "2025-11-30"),
            stdout=out,
        )
    assert "(trading days with data: 1): stored 1, updated 0." in out.getvalue()
    assert list(DailyQuote.objects.values_list("trade_date", flat=True)) == [_day("2025-10-31")]


def test_many_unknown_codes_are_summed_up(master: None) -> None:
    codes = [f"{9000 + n}" for n in range(12)]
    index = pd.DatetimeIndex(pd.to_datetime(["2025-11-25"]), name="date")
    frame = pd.DataFrame([[10.0] * 12], index=index, columns=codes)
    output = _backfill("--from", "2025-11-25", "--to", "2025-11-25", reader=lambda name: frame)
    assert (
        "Skipped, codes not in the stock master: 12 "
        "(9000, 9001, 9002, 9003, 9004, 9005, 9006, 9007, 9008, 9009 and 2 more; add them" in output
    )
    assert not DailyQuote.objects.exists()


def test_a_close_without_open_high_and_low_is_stored_with_those_left_empty(master: None) -> None:
    columns = {name: [list(row) for row in rows] for name, rows in COLUMNS.items()}
    for name in ("price:開盤價", "price:最高價", "price:最低價"):
        columns[name][1][0] = NAN
    _backfill("--from", "2025-11-25", "--to", "2025-11-25", reader=_reader(columns))
    assert DailyQuote.objects.filter(stock__code="2330").values_list(
        "open", "high", "low", "close", "change", "volume"
    ).get() == (None, None, None, Decimal("1455.00"), Decimal("15.00"), 28_001_000)


def test_a_value_finlab_should_not_have_stops_the_month_and_names_it(master: None) -> None:
    columns = {**COLUMNS, "price:收盤價": [list(row) for row in COLUMNS["price:收盤價"]]}
    columns["price:收盤價"][2][0] = -1.0
    with pytest.raises(CommandError, match=r"FinLab price:收盤價 on 2025-11-26 for 2330: -1.0 is below zero"):
        _backfill("--from", "2025-11-25", "--to", "2025-11-27", reader=_reader(columns))
    assert not DailyQuote.objects.exists()


def test_a_bad_close_on_the_day_before_the_range_is_named_with_its_own_day(master: None) -> None:
    columns = {**COLUMNS, "price:收盤價": [list(row) for row in COLUMNS["price:收盤價"]]}
    columns["price:收盤價"][0][0] = -1.0
    with pytest.raises(CommandError, match=r"FinLab price:收盤價 on 2025-11-24 for 2330: -1.0 is below zero"):
        _backfill("--from", "2025-11-25", "--to", "2025-11-27", reader=_reader(columns))


def test_a_dataset_that_is_not_a_frame_is_refused(master: None) -> None:
    with pytest.raises(CommandError, match=r"FinLab answered price:開盤價 with NoneType where a DataFrame"):
        _backfill("--from", "2025-11-25", reader=lambda name: None)


# --- Input and configuration errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-13-01"], r"--from must be a date like 2024-01-31, got '2025-13-01'\.$"),
        (["--from", "25/11/2025"], r"--from must be a date like 2024-01-31, got '25/11/2025'\.$"),
        (
            ["--from", "2025-11-01", "--to", "2025-02-30"],
            r"--to must be a date like 2024-01-31, got '2025-02-30'\.$",
        ),
        (
            ["--from", "2025-11-27", "--to", "2025-11-25"],
            r"--from 2025-11-27 is after the last day 2025-11-25: nothing to backfill\.$",
        ),
    ],
)
def test_bad_dates_are_refused_in_one_sentence(master: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _backfill(*args)
    assert not DailyQuote.objects.exists()


def test_an_unknown_source_is_refused(master: None) -> None:
    with pytest.raises(CommandError, match=r"invalid choice: 'twse'"):
        call_command("backfill_quotes", "--source", "twse", "--from", "2025-11-25")


def test_an_empty_stock_master_is_refused() -> None:
    with pytest.raises(
        CommandError, match=r"^The stock master is empty: load it first with manage.py load_stocks\.$"
    ):
        _backfill("--from", "2025-11-25")


def test_without_a_key_the_command_says_what_to_set(master: None, settings: Any) -> None:
    settings.FINLAB_API_KEY = ""
    with pytest.raises(
        CommandError, match=r"^FinLab is not configured: set FINLAB_API_KEY to read quotes from FinLab\.$"
    ):
        call_command("backfill_quotes", "--source", "finlab", "--from", "2025-11-25")


def test_without_a_key_the_command_exits_non_zero() -> None:
    env = {**os.environ, "FINLAB_API_KEY": "", "LANGUAGE_CODE": "en"}
    done = subprocess.run(
        [PYTHON, "manage.py", "backfill_quotes", "--source", "finlab", "--from", "2025-11-25"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "CommandError: FinLab is not configured: set FINLAB_API_KEY to read quotes from FinLab."
    )


@pytest.mark.skipif(
    importlib.util.find_spec("finlab") is not None, reason="the finlab package is installed here"
)
def test_without_the_finlab_package_the_command_says_what_to_install(
    master: None, settings: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.FINLAB_API_KEY = KEY
    caplog.set_level(logging.DEBUG)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("backfill_quotes", "--source", "finlab", "--from", "2025-11-25", stdout=out, stderr=err)
    assert str(raised.value) == (
        "The optional finlab package is not installed (No module named 'finlab'): "
        "install it with “pip install finlab” to read quotes from FinLab."
    )
    captured = capsys.readouterr()
    assert KEY not in out.getvalue() + err.getvalue() + caplog.text + captured.out + captured.err


# --- The default reader, with the finlab package's documented API standing in for FinLab --------------


class _FakeFinLab(types.ModuleType):
    """``finlab.login(api_token)`` and ``finlab.data.get(name)``, answering the fixture frames."""

    def __init__(self, *, failure: str = "") -> None:
        super().__init__("finlab")
        self.logins: list[str] = []
        self.failure = failure
        self.data = types.SimpleNamespace(get=self._get)

    def login(self, api_token: str) -> None:
        self.logins.append(api_token)

    def _get(self, name: str) -> pd.DataFrame:
        if self.failure:
            raise RuntimeError(self.failure)
        return _reader()(name)


def test_the_default_reader_logs_in_with_the_key_and_never_shows_it(
    master: None,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings.FINLAB_API_KEY = KEY
    fake = _FakeFinLab()
    monkeypatch.setitem(sys.modules, "finlab", fake)
    caplog.set_level(logging.DEBUG)
    out, err = StringIO(), StringIO()
    call_command(
        "backfill_quotes",
        "--source",
        "finlab",
        "--from",
        "2025-11-25",
        "--to",
        "2025-11-27",
        stdout=out,
        stderr=err,
    )
    assert fake.logins == [KEY]
    assert "stored 7, updated 0." in out.getvalue()
    captured = capsys.readouterr()
    assert KEY not in out.getvalue() + err.getvalue() + caplog.text + captured.out + captured.err


def test_a_finlab_error_that_quotes_the_key_is_reported_without_it(
    master: None, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings.FINLAB_API_KEY = KEY
    monkeypatch.setitem(sys.modules, "finlab", _FakeFinLab(failure=f"token {KEY} is over its daily quota"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CommandError) as raised:
        call_command("backfill_quotes", "--source", "finlab", "--from", "2025-11-25")
    assert str(raised.value) == "FinLab could not read price:開盤價: token *** is over its daily quota."
    assert raised.value.__cause__ is not None and raised.value.__cause__.__suppress_context__
    assert KEY not in caplog.text


def test_the_backfill_service_keeps_the_months_before_a_failure_and_says_how_far_it_got(master: None) -> None:
    from market.backfill import BackfillError, quotes_backfill
    from market.providers import FinLabHistory

    index = pd.DatetimeIndex(pd.to_datetime(["2025-10-31", "2025-11-03"]), name="date")
    prices = pd.DataFrame([[11.0], [12.5]], index=index, columns=["2330"])
    amounts = pd.DataFrame([[2_000.0], [2_500.5]], index=index, columns=["2330"])  # half a share in November
    frames = {name: amounts if name in {"price:成交股數", "price:成交金額"} else prices for name in COLUMNS}
    history = FinLabHistory(reader=lambda name: frames[name])

    with pytest.raises(BackfillError, match="is not a whole number") as stopped:
        quotes_backfill(history=history, start=_day("2025-10-01"), end=_day("2025-11-30"))

    assert (stopped.value.result.trading_days, stopped.value.result.created) == (1, 1)
    assert list(DailyQuote.objects.values_list("trade_date", flat=True)) == [_day("2025-10-31")]
