import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from market.providers import default_providers
from market.quotes import FeedOutcome, quotes_fetch_day


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            _("--date must be a date like 2026-07-08, got %(value)r.") % {"value": value}
        ) from exc


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "0"


class Command(BaseCommand):
    help = (
        "Fetch and store the day's quotes from TWSE and/or TPEx now: the same service as the after-close "
        "beat job. Ends with a summary per exchange: rows read, stored, skipped by reason, new stocks by type."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            help="The trading day to store (YYYY-MM-DD); default the latest closed one. The exchanges only "
            "serve their latest day.",
        )
        parser.add_argument("--source", choices=["twse", "tpex", "all"], default="all")

    def handle(self, *args: Any, **options: Any) -> None:
        day = _day(options["date"]) if options["date"] else None
        try:
            result = quotes_fetch_day(day=day, providers=default_providers(options["source"]))
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        for outcome in result.feeds.values():
            self.stdout.write(self._summary(outcome))
        self.stdout.write(self.style.SUCCESS(result.message))

    def _summary(self, outcome: FeedOutcome) -> str:
        stored = outcome.stored
        return _(
            "%(source)s: %(rows)s rows read, %(stored)s stored (%(created)s new, %(updated)s updated); "
            "skipped as bad: %(skipped)s; not stored by type: %(types)s; new stocks by type: %(new)s; "
            "names or markets refreshed: %(refreshed)s; marked inactive: %(inactive)s."
        ) % {
            "source": outcome.source,
            "rows": outcome.rows,
            "stored": stored.quotes,
            "created": stored.created,
            "updated": stored.updated,
            "skipped": _counts(outcome.skipped),
            "types": _counts(outcome.not_stored),
            "new": _counts(stored.new_by_type),
            "refreshed": stored.refreshed,
            "inactive": stored.deactivated,
        }
