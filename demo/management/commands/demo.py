from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.exceptions import ServiceError
from demo.world import demo_load, demo_remove


class Command(BaseCommand):
    help = (
        "Load a clearly labelled demo world (six personas, 60 trading days of demo prices for 30 stocks, "
        "drafts in every status, dry-run publications with interactions). --remove deletes exactly it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--remove", action="store_true", help="Delete every demo row and nothing else.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = demo_remove() if options["remove"] else demo_load()
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        verb = "Removed" if options["remove"] else "Demo world loaded"
        summary = ", ".join(f"{name}: {count}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"{verb}. {summary}"))
        if not options["remove"]:
            self.stdout.write(
                "Open http://127.0.0.1:8000/admin/ (make run). Remove it with: manage.py demo --remove"
            )
