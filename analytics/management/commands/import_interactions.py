"""Import interaction snapshots from a CSV file (same validation as the API; one bad row stores nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.inputs import InvalidInput, csv_rows, snapshots_import
from analytics.models import InteractionSnapshot


class Command(BaseCommand):
    help = (
        "Import interaction snapshots from a UTF-8 CSV with a header row: post, captured_at, then any of "
        "likes, comments, shares, saves, tips, views, slot. Nothing is stored when any row is invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            created = snapshots_import(rows=csv_rows(text), source=InteractionSnapshot.Source.CSV)
        except InvalidInput as invalid:
            lines = [
                invalid.message,
                *(f"  {key}: {' '.join(problems)}" for key, problems in invalid.fields.items()),
            ]
            raise CommandError("\n".join(lines)) from invalid
        self.stdout.write(f"Imported {len(created)} snapshots from {path}.")
