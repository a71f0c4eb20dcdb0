import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from kols.roles import ADMINISTRATOR, ensure_roles


class Command(BaseCommand):
    help = (
        "Create a superuser named 'admin' when no superuser exists yet. The generated password is written to "
        "var/admin-password.txt (readable by this user only), never printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            self.stdout.write("A superuser exists already; nothing to do.")
            return
        password = secrets.token_urlsafe(18)
        user = user_model.objects.create_superuser(username=options["username"], email="", password=password)
        ensure_roles()
        user.groups.add(Group.objects.get(name=ADMINISTRATOR))
        path = Path(settings.VAR_DIR) / "admin-password.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created superuser '{user.get_username()}'. Its password is in {path} (change it after logging in)."
            )
        )
