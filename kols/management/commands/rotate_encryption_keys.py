from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kols.crypto import DecryptionError
from kols.services import accounts_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored platform secret under the newest key in FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = accounts_reencrypt()
        except DecryptionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} stored secret(s) under the newest key."))
