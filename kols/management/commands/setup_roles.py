from typing import Any

from django.core.management.base import BaseCommand

from kols.roles import ensure_roles


class Command(BaseCommand):
    help = "Create or update the Writer, Reviewer and Administrator groups with their permissions."

    def handle(self, *args: Any, **options: Any) -> None:
        for role, count in ensure_roles().items():
            self.stdout.write(f"{role}: {count} permissions")
