"""API tokens: created with a name and an expiry and shown once; revoked by their owner or an
administrator; never read back (only a SHA-512 digest is stored, by django-rest-knox)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ServiceError
from kols.models import ApiToken


class TokenNotYours(ServiceError):
    code = "permission_denied"
    status_code = 403


def api_token_create(*, user: Any, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row, and the token itself (the only time anyone sees it)."""
    name = (name or "").strip()
    if not name:
        message = _("Give the token a name (what or who uses it).")
        raise ServiceError(message, code="invalid", fields={"name": [message]})
    days = settings.API_TOKEN_TTL_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        message = _("A token lasts 1 to %(max)d days.") % {"max": settings.API_TOKEN_MAX_DAYS}
        raise ServiceError(message, code="invalid", fields={"days": [message]})
    token, key = ApiToken.objects.create(user=user, expiry=dt.timedelta(days=days), name=name[:100])
    return token, key


def api_tokens_of(*, user: Any) -> QuerySet[ApiToken]:
    """A person's tokens that have not expired, newest first."""
    return ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created")


def api_token_revoke(*, token: ApiToken, by: Any) -> None:
    """Delete the token: it stops working at once. Its owner or an administrator may."""
    if token.user_id != by.pk and not by.has_perm("kols.delete_apitoken"):
        raise TokenNotYours(_("You may revoke only your own tokens."))
    ApiToken.objects.filter(pk=token.pk).delete()
