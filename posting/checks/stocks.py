"""Which stocks a text names: codes and names from the stock table, or the shipped stock master.

A freshly installed site (or the check_draft command on an empty database) has no Stock rows yet; the
stock master CSV shipped with the market app is the same real list `load_stocks` would load.
"""

from __future__ import annotations

import csv
import re
import threading
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max

from market.models import Stock
from market.services import STOCK_MASTER_PATH
from posting.checks.text import fold_phrase

_CODE = re.compile(r"(?<![\d.,])\d{4,6}[a-z]?(?![\d.,]*\d)")
# "This stock" and friends: the post is about one stock even when it does not name it.
_DEMONSTRATIVE = re.compile(r"(这|那|该|此|本)(档|支)|(这|那)只股|该股|此股")


@dataclass(frozen=True)
class StockDirectory:
    codes: frozenset[str]
    names: dict[str, str]  # folded name -> code
    name_lengths: tuple[int, ...]

    def codes_in(self, folded: str) -> list[str]:
        return [match.group() for match in _CODE.finditer(folded) if match.group() in self.codes]

    def names_in(self, folded: str) -> list[str]:
        found: list[str] = []
        for length in self.name_lengths:
            for index in range(len(folded) - length + 1):
                piece = folded[index : index + length]
                if piece in self.names:
                    found.append(piece)
        return found


def _build(rows: list[tuple[str, str]]) -> StockDirectory:
    names = {fold_phrase(name): code for code, name in rows if len(name) >= 2}
    return StockDirectory(
        codes=frozenset(code.lower() for code, _name in rows),
        names=names,
        name_lengths=tuple(sorted({len(name) for name in names})),
    )


def _master_rows() -> list[tuple[str, str]]:
    with STOCK_MASTER_PATH.open(encoding="utf-8-sig", newline="") as handle:
        return [(row["code"].strip(), row["name"].strip()) for row in csv.DictReader(handle)]


_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "directory": None}


def stock_directory() -> StockDirectory:
    """The current directory; rebuilt only when the Stock table changed (one aggregate query)."""
    state = Stock.objects.aggregate(count=Count("id"), latest=Max("updated_at"))
    key = (state["count"], state["latest"])
    with _lock:
        if _cache["key"] == key and _cache["directory"] is not None:
            directory: StockDirectory = _cache["directory"]
            return directory
    rows = list(Stock.objects.values_list("code", "name")) if state["count"] else _master_rows()
    directory = _build(rows)
    with _lock:
        _cache.update(key=key, directory=directory)
    return directory


def master_stock(code: str) -> Stock | None:
    """An unsaved Stock for a code in the shipped master, for checks run before the master is loaded."""
    for master_code, name in _master_rows():
        if master_code == code:
            return Stock(code=master_code, name=name)
    return None


def mentions_a_stock(folded: str, *, stock: Stock | None, directory: StockDirectory) -> bool:
    if stock is not None or _DEMONSTRATIVE.search(folded):
        return True
    return bool(directory.codes_in(folded) or directory.names_in(folded))
