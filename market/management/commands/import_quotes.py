from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from market.quote_import import QuoteImportError, quotes_import_csv
from market.quotes import QuoteStoreError


class Command(BaseCommand):
    help = (
        "Import daily quotes (history) from a CSV with the columns "
        "code,date,open,high,low,close,volume,turnover[,change,transactions]. Every row is checked first: "
        "one bad row stores nothing. Re-importing a file updates the same rows (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file",
            type=Path,
            help="CSV, UTF-8; date as YYYY-MM-DD, volume in shares, turnover in TWD; empty prices = no trade",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        try:
            result = quotes_import_csv(path=path)
        except (QuoteImportError, QuoteStoreError) as exc:
            raise CommandError(exc.message) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(
                _("%(file)s is not UTF-8 text (byte %(position)s).")
                % {"file": path.name, "position": exc.start}
            ) from exc
        self.stdout.write(
            self.style.SUCCESS(
                _("Quotes: %(quotes)s rows, %(created)s created, %(updated)s updated.")
                % {"quotes": result.quotes, "created": result.created, "updated": result.updated}
            )
        )
        if result.changes_derived:
            self.stdout.write(
                _("Change computed from the previous trading day's close for %(count)s rows.")
                % {"count": result.changes_derived}
            )
