from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.db.models.functions import Cast

from kols.crypto import Secret, rotate
from kols.models import KOL, TONE_FIELDS, PersonaVersion, PlatformAccount

# What a persona card holds: the fields a post's text is written from.
PERSONA_CARD_TEXTS = (
    "nickname",
    "persona",
    "backstory",
    "content_style",
    "target_audience",
    "signature",
    "emoji_use",
)
PERSONA_CARD_LISTS = ("style_rules", "guardrails", "common_phrases")


def _texts(values: Any) -> list[str]:
    return [str(value).strip() for value in (values or []) if str(value).strip()]


def persona_card_data(kol: KOL) -> dict[str, Any]:
    """The persona card as data (what generation writes from and what a version stores)."""
    card: dict[str, Any] = {name: getattr(kol, name) for name in PERSONA_CARD_TEXTS}
    card.update({name: _texts(getattr(kol, name)) for name in PERSONA_CARD_LISTS})
    card["tone"] = {name: getattr(kol, name) for name in TONE_FIELDS}
    return card


def kol_persona_version_record(*, kol: KOL, by: Any = None) -> PersonaVersion:
    """The version of the KOL's current persona card: a new one when the card changed since the last.

    Called when the KOL is saved (admin) and when a post is generated (so a card changed elsewhere is
    versioned too). The KOL row is locked so two saves or two drafts never number a version twice.
    """
    card = persona_card_data(kol)
    with transaction.atomic():
        KOL.objects.select_for_update().filter(pk=kol.pk).exists()
        latest = PersonaVersion.objects.filter(kol=kol).order_by("-number").first()
        if latest is not None and latest.card == card:
            return latest
        user = by if getattr(by, "is_authenticated", False) else None
        return PersonaVersion.objects.create(
            kol=kol, number=(latest.number + 1) if latest else 1, card=card, created_by=user
        )


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
