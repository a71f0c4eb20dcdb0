"""State changes of a platform account made while publishing: the cached token, authentication
failures (and the pause they lead to), and a platform's "slow down" (429 Retry-After).

Each is a single UPDATE committed on its own, so a token obtained just before a worker dies is kept.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kols.crypto import Secret
from kols.models import Platform, PlatformAccount
from posting.models import PlatformHalt

logger = logging.getLogger(__name__)

# Preferred platform when a KOL has several accounts.
_PLATFORM_ORDER = [Platform.CMONEY, Platform.WEBHOOK]


def account_for_kol(*, kol_id: int) -> PlatformAccount | None:
    """The account a KOL's posts go out from: its CMoney account, else its webhook account, else none."""
    accounts = {account.platform: account for account in PlatformAccount.objects.filter(kol_id=kol_id)}
    return next((accounts[platform] for platform in _PLATFORM_ORDER if platform in accounts), None)


def account_cached_token(*, account: PlatformAccount, now: dt.datetime | None = None) -> Secret | None:
    """The stored token while it is good for at least CMONEY_TOKEN_REFRESH_MARGIN_SECONDS more."""
    now = now or timezone.now()
    margin = dt.timedelta(seconds=settings.CMONEY_TOKEN_REFRESH_MARGIN_SECONDS)
    if account.access_token and account.token_expires_at and account.token_expires_at - margin > now:
        return account.access_token
    return None


def account_token_save(*, account: PlatformAccount, token: Secret, expires_at: dt.datetime) -> None:
    """Keep the token, encrypted at rest, until shortly before it expires."""
    now = timezone.now()
    account.access_token, account.token_expires_at, account.last_login_at = token, expires_at, now
    with transaction.atomic():
        account.save(update_fields=["access_token", "token_expires_at", "last_login_at", "updated_at"])


def account_token_forget(*, account: PlatformAccount) -> None:
    account.access_token, account.token_expires_at = Secret(""), None
    with transaction.atomic():
        account.save(update_fields=["access_token", "token_expires_at", "updated_at"])


def account_auth_failed(*, account: PlatformAccount, message: str) -> bool:
    """Count a refused login (or a 401 right after one); pause the account at the threshold. True = paused."""
    with transaction.atomic():
        PlatformAccount.objects.filter(pk=account.pk).update(auth_failures=F("auth_failures") + 1)
        failures = PlatformAccount.objects.filter(pk=account.pk).values_list("auth_failures", flat=True).get()
        account.auth_failures = failures
        if failures < settings.AUTH_FAILURES_BEFORE_PAUSE:
            return False
        reason = _("Paused after %(count)d authentication failures in a row. Last: %(message)s") % {
            "count": failures,
            "message": message,
        }
        reason = reason[:300]
        PlatformAccount.objects.filter(pk=account.pk).update(
            status=PlatformAccount.Status.PAUSED, paused_reason=reason, access_token="", token_expires_at=None
        )
    account.status, account.paused_reason = PlatformAccount.Status.PAUSED, reason
    logger.warning("Platform account %s paused after %d authentication failures", account.pk, failures)
    return True


def account_auth_succeeded(*, account: PlatformAccount) -> None:
    if account.auth_failures:
        PlatformAccount.objects.filter(pk=account.pk).update(auth_failures=0)
        account.auth_failures = 0


def account_rate_limited(*, account: PlatformAccount, until: dt.datetime) -> None:
    """The platform asked this account to wait (429 Retry-After): nothing goes out before ``until``."""
    PlatformAccount.objects.filter(pk=account.pk).filter(
        Q(rate_limited_until__isnull=True) | Q(rate_limited_until__lt=until)
    ).update(rate_limited_until=until)
    account.rate_limited_until = max(until, account.rate_limited_until or until)


# --- A platform halted by our configuration -------------------------------------------------------------

HALT_RECHECK_SECONDS = 10 * 60


def platform_halt(*, platform: str, reason: str) -> None:
    """Stop every send to ``platform``: CMoney refused our client configuration, which no account can fix.

    No account is paused. The operator is alerted (an ERROR log line and the admin home) and resumes
    sending by fixing the setting and deleting the halt in the admin.
    """
    now = timezone.now()
    _halt, created = PlatformHalt.objects.get_or_create(
        platform=platform, defaults={"reason": reason[:1000], "halted_at": now}
    )
    if created:
        logger.error("Sending to %s halted: %s", platform, reason)


def platform_halt_alerts() -> list[str]:
    """One sentence per halted platform, for /health/'s alerts (config.health.register_alert)."""
    return [
        f"Sending to {halt.platform} is halted since {timezone.localtime(halt.halted_at).isoformat()}: "
        f"{halt.reason}"
        for halt in PlatformHalt.objects.order_by("platform")
    ]


def platform_halted(*, platform: str) -> PlatformHalt | None:
    return PlatformHalt.objects.filter(platform=platform).first()


def platform_resume(*, platform: str) -> bool:
    """The operator fixed the configuration: sending may start again. True when a halt was lifted."""
    deleted, _rows = PlatformHalt.objects.filter(platform=platform).delete()
    if deleted:
        logger.warning("Sending to %s resumed", platform)
    return bool(deleted)
