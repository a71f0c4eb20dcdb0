from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from market.services import STOCK_MASTER_PATH, StockMasterError, stocks_load_master


class Command(BaseCommand):
    help = (
        "Load the Taiwan stock master (TWSE and TPEx) shipped with KOL Studio, or another CSV of that shape."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            type=Path,
            default=STOCK_MASTER_PATH,
            help="CSV with code,name,market,industry,issued_shares,capital_twd",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            result = stocks_load_master(path=path)
        except StockMasterError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Stock master: {result.created} created, {result.updated} updated, {result.unchanged} unchanged."
            )
        )
