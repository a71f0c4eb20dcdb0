from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from market.models import Market, Stock
from market.services import STOCK_MASTER_PATH, StockMasterError, stocks_load_master
from tests.factories import StockFactory

pytestmark = pytest.mark.django_db

HEADER = "code,name,market,industry,issued_shares,capital_twd\n"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stocks.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_loading_the_master_twice_creates_once_and_then_changes_nothing(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER + '2330,台積電,TWSE,半導體業,"25,932,733,242",259327332420\n6488,環球晶,TPEx,半導體業,,\n',
    )
    first = stocks_load_master(path=path)
    second = stocks_load_master(path=path)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    tsmc = Stock.objects.get(code="2330")
    assert (tsmc.name, tsmc.market, tsmc.issued_shares) == ("台積電", Market.TWSE, 25_932_733_242)


def test_an_empty_value_in_the_file_does_not_erase_a_known_one(tmp_path: Path) -> None:
    StockFactory(code="6488", name="環球晶", market=Market.TPEX, industry="半導體業")
    result = stocks_load_master(path=_csv(tmp_path, HEADER + "6488,環球晶圓,,,,\n"))
    assert (result.updated, result.unchanged) == (1, 0)
    stock = Stock.objects.get(code="6488")
    assert (stock.name, stock.market, stock.industry) == ("環球晶圓", Market.TPEX, "半導體業")


def test_a_bad_number_names_its_row_and_column(tmp_path: Path) -> None:
    text = HEADER + "2330,台積電,TWSE,半導體業,,\n2303,聯電,TWSE,半導體業,many,\n"
    with pytest.raises(StockMasterError, match=r"Row 3: issued_shares must be a whole number, got 'many'"):
        stocks_load_master(path=_csv(tmp_path, text))
    assert not Stock.objects.exists()


def test_a_bad_market_names_its_row(tmp_path: Path) -> None:
    with pytest.raises(StockMasterError, match=r"Row 2: market must be TWSE, TPEx or empty, got 'OTC'"):
        stocks_load_master(path=_csv(tmp_path, HEADER + "6488,環球晶,OTC,半導體業,,\n"))


def test_a_missing_code_or_name_names_its_row_and_column(tmp_path: Path) -> None:
    with pytest.raises(StockMasterError, match=r"Row 2: code is required"):
        stocks_load_master(path=_csv(tmp_path, HEADER + ",無代號,TWSE,,,\n"))
    with pytest.raises(StockMasterError, match=r"Row 3: name is required"):
        stocks_load_master(path=_csv(tmp_path, HEADER + "2330,台積電,TWSE,,,\n2303, ,TWSE,,,\n"))


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    with pytest.raises(StockMasterError, match=r"stocks.csv lacks the column.s.: capital_twd, issued_shares"):
        stocks_load_master(path=_csv(tmp_path, "code,name,market,industry\n2330,台積電,TWSE,半導體業\n"))


def test_load_stocks_loads_the_shipped_master_idempotently() -> None:
    shipped = sum(1 for _ in STOCK_MASTER_PATH.open(encoding="utf-8-sig")) - 1
    out = StringIO()
    call_command("load_stocks", stdout=out)
    assert f"{shipped} created" in out.getvalue()
    assert Stock.objects.count() == shipped
    assert Stock.objects.get(code="2330").name == "台積電"
    out = StringIO()
    call_command("load_stocks", stdout=out)
    assert f"0 created, 0 updated, {shipped} unchanged" in out.getvalue()


def test_load_stocks_reports_a_bad_file_as_a_command_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "2330,台積電,NYSE,,,\n")
    with pytest.raises(CommandError, match=r"Row 2: market must be TWSE, TPEx or empty"):
        call_command("load_stocks", "--file", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match=r"No such file"):
        call_command("load_stocks", "--file", str(tmp_path / "none.csv"), stdout=StringIO())
