from __future__ import annotations

from django.db import models, transaction
from django.db.models.functions import Cast

from kols.crypto import Secret, rotate
from kols.models import PlatformAccount


def account_update_credentials(
    *, account: PlatformAccount, login: str | None = None, password: str | None = None
) -> PlatformAccount:
    """Store new credentials (encrypted). A changed credential invalidates the cached token.

    ``None`` or an empty string leaves that credential as it was.
    """
    changed = []
    if login:
        account.login = Secret(login.strip())
        changed.append("login")
    if password:
        account.password = Secret(password)
        changed.append("password")
    if not changed:
        return account
    account.access_token = Secret("")
    account.token_expires_at = None
    account.auth_failures = 0
    account.save(update_fields=[*changed, "access_token", "token_expires_at", "auth_failures", "updated_at"])
    return account


ENCRYPTED_COLUMNS = ("login", "password", "access_token")


def accounts_reencrypt() -> int:
    """Re-encrypt every stored secret under the newest key of FIELD_ENCRYPTION_KEYS.

    Works on the ciphertext directly (never on plaintext) and row by row under a lock, so it can run
    while the application is live. Returns the number of values rewritten.
    """
    rewritten = 0
    ids = list(PlatformAccount.objects.values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            # Cast to plain text so the field does not decrypt on the way out.
            raw = (
                PlatformAccount.objects.select_for_update()
                .filter(pk=pk)
                .values(**{f"raw_{c}": Cast(c, output_field=models.TextField()) for c in ENCRYPTED_COLUMNS})
                .first()
            )
            if raw is None:
                continue
            updates = {
                name.removeprefix("raw_"): models.Value(rotate(str(value)), output_field=models.TextField())
                for name, value in raw.items()
                if value
            }
            if updates:
                # A Value expression is written as is; the field itself would encrypt a second time.
                PlatformAccount.objects.filter(pk=pk).update(**updates)
                rewritten += len(updates)
    return rewritten
