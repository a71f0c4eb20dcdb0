"""Stale drafts: waiting too long, or the stock moved too far since the snapshot the text was written on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from market.models import DailyQuote
from posting.lifecycle.transitions import TransitionNotAllowed
from posting.models import Post
from posting.review.services import post_expire

WAITING_STATES = (Post.Status.DRAFT, Post.Status.PENDING_REVIEW, Post.Status.CHANGES_REQUESTED)


def snapshot_close(snapshot: dict[str, Any] | None) -> Decimal | None:
    """The close the text was written on; the snapshot keeps it under "latest" (or at the top level)."""
    if not snapshot:
        return None
    # The generation context keeps the quote under "quote"; a hand-made snapshot may be flat.
    nested = snapshot.get("quote") or snapshot.get("latest")
    latest: dict[str, Any] = nested if isinstance(nested, dict) else snapshot
    try:
        value = Decimal(str(latest.get("close")))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return value if value > 0 else None


def stale_reason(*, post: Any, latest_close: Decimal | None, now: dt.datetime) -> str:
    age = now - post.created_at
    limit = dt.timedelta(hours=settings.REVIEW_STALE_AFTER_HOURS)
    if age > limit:
        return _("Waiting %(hours)d hours (limit %(limit)d).") % {
            "hours": age.total_seconds() // 3600,
            "limit": settings.REVIEW_STALE_AFTER_HOURS,
        }
    written_on = snapshot_close(post.market_snapshot)
    if written_on is not None and latest_close is not None:
        move = (latest_close - written_on) / written_on * 100
        if abs(move) > Decimal(str(settings.REVIEW_STALE_MOVE_PCT)):
            return _("The stock moved %(move).1f%% since the snapshot (close %(then)s → %(now)s).") % {
                "move": move,
                "then": written_on,
                "now": latest_close,
            }
    return ""


@dataclass(frozen=True)
class StaleResult:
    flagged: int
    expired: int


def posts_handle_stale(*, now: dt.datetime | None = None) -> StaleResult:
    """Flag stale waiting drafts and, when REVIEW_EXPIRE_STALE is on, expire them. Never deletes."""
    now = now or timezone.now()
    latest_close = (
        DailyQuote.objects.filter(stock=OuterRef("stock_id")).order_by("-trade_date").values("close")[:1]
    )
    waiting = Post.objects.filter(status__in=WAITING_STATES).annotate(latest_close=Subquery(latest_close))
    flagged = expired = 0
    for post in waiting.only("id", "status", "created_at", "market_snapshot", "stock_id", "stale_reason"):
        reason = stale_reason(post=post, latest_close=post.latest_close, now=now)
        if not reason:
            continue
        if settings.REVIEW_EXPIRE_STALE:
            try:
                post_expire(post=post, reason=reason)
                expired += 1
            except TransitionNotAllowed:
                continue  # a reviewer acted on it meanwhile: their decision stands
        elif post.stale_reason != reason:
            Post.objects.filter(pk=post.pk, status__in=WAITING_STATES).update(stale_reason=reason)
            flagged += 1
    return StaleResult(flagged=flagged, expired=expired)
