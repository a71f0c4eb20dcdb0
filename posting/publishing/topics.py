"""CMoney community topics: the trending ones, read with a KOL's account, for a post to attach to."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kols.models import KOL, Platform
from posting.lifecycle.table import EDITABLE_STATES, REOPEN_ON_EDIT_STATES
from posting.models import Post
from posting.publishing import accounts
from posting.publishing.backends import CMoneyPublisher, SendFailed
from posting.publishing.clients.cmoney import Topic
from posting.publishing.sending import PublishingError


class NoTopicAccount(PublishingError):
    """The KOL has no CMoney account to read topics with: our configuration, not the platform's answer."""

    code = "no_cmoney_account"
    status_code = 409


class TopicsUnavailable(PublishingError):
    """CMoney did not answer the trending topics (down, refused, malformed)."""

    code = "topics_unavailable"
    status_code = 502


def topics_trending(*, kol: KOL) -> list[Topic]:
    """The trending topics (``GET /api/Topic/Trending``) as the KOL's CMoney account sees them."""
    account = accounts.account_for_kol(kol_id=kol.pk)
    if account is None or account.platform != Platform.CMONEY or not account.has_credentials:
        raise NoTopicAccount(
            _("Reading CMoney's trending topics needs a CMoney account with a login and password.")
        )
    try:
        return CMoneyPublisher(account).trending_topics()
    except SendFailed as failure:
        raise TopicsUnavailable(failure.message) from failure


def topic_can_attach(*, post: Post) -> bool:
    """A post without a stock, not yet published, can be attached to a topic (the edit cannot change it)."""
    return post.stock_id is None and post.status in (EDITABLE_STATES | REOPEN_ON_EDIT_STATES)


def topic_panel(*, post: Post, can_change: bool, load: bool) -> dict[str, Any]:
    """The post page's topic control (templates/admin/posting/post/_topic.html).

    The trending list is read from CMoney only when the editor asks (``load``): the page never waits on the
    platform otherwise. A failure is shown as it is; no topic is ever made up.
    """
    panel: dict[str, Any] = {
        "shown": post.stock_id is None,
        "can_attach": can_change and topic_can_attach(post=post),
        "loaded": False,
        "topics": [],
        "error": "",
    }
    if panel["can_attach"] and load:
        try:
            panel["topics"] = topics_trending(kol=post.kol)
        except PublishingError as error:
            panel["error"] = error.message
        panel["loaded"] = True
    return {"topic_panel": panel}
