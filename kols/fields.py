from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from kols.crypto import Secret, decrypt, encrypt

if TYPE_CHECKING:
    _TextField = models.TextField[Secret | str, Secret]
else:
    _TextField = models.TextField


class EncryptedTextField(_TextField):
    """Stores Fernet ciphertext; gives back a :class:`Secret`. An empty value means "not set".

    Not searchable or orderable by its plaintext, by design.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret:
        if not value:
            return Secret("")
        return Secret(decrypt(value))

    def to_python(self, value: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        if value is None:
            return Secret("")
        return Secret(str(value))

    def get_prep_value(self, value: Any) -> str:
        if isinstance(value, Secret):
            value = value.reveal()
        if value is None or value == "":
            return ""
        return encrypt(str(value))

    def value_to_string(self, obj: models.Model) -> str:
        # dumpdata and serializers never get plaintext.
        return ""
