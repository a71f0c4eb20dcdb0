from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from config.exceptions import ServiceError
from market.instruments import instrument_type_of
from market.models import Market, Stock

STOCK_MASTER_PATH = Path(__file__).resolve().parent / "data" / "tw_stocks.csv"
_COLUMNS = {"code", "name", "market", "industry", "issued_shares", "capital_twd"}


class StockMasterError(ServiceError):
    code = "stock_master_invalid"


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    unchanged: int


def _optional_int(value: str, *, row: int, column: str) -> int | None:
    value = value.strip().replace(",", "")
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise StockMasterError(f"Row {row}: {column} must be a whole number, got {value!r}.") from exc


def _parse_master(path: Path) -> list[Stock]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = _COLUMNS - set(reader.fieldnames or [])
        if missing:
            raise StockMasterError(f"{path.name} lacks the column(s): {', '.join(sorted(missing))}.")
        stocks: list[Stock] = []
        for row_number, row in enumerate(reader, start=2):
            code, name = row["code"].strip(), row["name"].strip()
            for column, value in (("code", code), ("name", name)):
                if not value:
                    raise StockMasterError(f"Row {row_number}: {column} is required.")
            market = row["market"].strip()
            if market not in {*Market.values, ""}:
                raise StockMasterError(
                    f"Row {row_number}: market must be TWSE, TPEx or empty, got {market!r}."
                )
            stocks.append(
                Stock(
                    code=code,
                    name=name,
                    market=market,
                    industry=row["industry"].strip(),
                    issued_shares=_optional_int(row["issued_shares"], row=row_number, column="issued_shares"),
                    capital_twd=_optional_int(row["capital_twd"], row=row_number, column="capital_twd"),
                    instrument_type=instrument_type_of(code, name).value,
                )
            )
    return stocks


_MASTER_FIELDS = ("name", "market", "industry", "issued_shares", "capital_twd", "instrument_type")


def stocks_load_master(*, path: Path = STOCK_MASTER_PATH) -> LoadResult:
    """Upsert the stock master from CSV. Idempotent; never deletes or deactivates a stock.

    An empty market or number in the file does not erase a value already known (a market-data
    refresh may have filled it in).
    """
    incoming = _parse_master(path)
    with transaction.atomic():
        existing = {stock.code: stock for stock in Stock.objects.select_for_update()}
        to_create: list[Stock] = []
        to_update: list[Stock] = []
        now = timezone.now()
        for new in incoming:
            current = existing.get(new.code)
            if current is None:
                to_create.append(new)
                continue
            changed = False
            for field in _MASTER_FIELDS:
                value = getattr(new, field)
                if value in (None, "") or getattr(current, field) == value:
                    continue
                setattr(current, field, value)
                changed = True
            if changed:
                current.updated_at = now
                to_update.append(current)
        Stock.objects.bulk_create(to_create, batch_size=1000)
        Stock.objects.bulk_update(to_update, [*_MASTER_FIELDS, "updated_at"], batch_size=1000)
    return LoadResult(
        created=len(to_create),
        updated=len(to_update),
        unchanged=len(incoming) - len(to_create) - len(to_update),
    )
