"""CMoney community topics: the trending ones, read with a KOL's account, for a post to attach to."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kols.models import KOL, Platform
from posting.publishing import accounts
from posting.publishing.backends import CMoneyPublisher, SendFailed
from posting.publishing.clients.cmoney import Topic
from posting.publishing.sending import PublishingError


def topics_trending(*, kol: KOL) -> list[Topic]:
    """The trending topics (``GET /api/Topic/Trending``) as the KOL's CMoney account sees them."""
    account = accounts.account_for_kol(kol_id=kol.pk)
    if account is None or account.platform != Platform.CMONEY or not account.has_credentials:
        raise PublishingError(
            _("Reading CMoney's trending topics needs a CMoney account with a login and password."),
            code="no_cmoney_account",
        )
    try:
        return CMoneyPublisher(account).trending_topics()
    except SendFailed as failure:
        raise PublishingError(failure.message, code="topics_unavailable") from failure
