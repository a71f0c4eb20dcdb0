"""Thin Celery wrappers around the market services."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from market.clients.http import SourceBlocked
from market.news import news_fetch_feeds
from market.quotes import QuotesNotPublishedYet, quotes_fetch_day

logger = logging.getLogger(__name__)

QUOTES_RETRY_SECONDS = 10 * 60
QUOTES_MAX_RETRIES = 24  # ten-minute steps: four hours past the first run at 14:40


@shared_task(
    name="market.fetch_daily_quotes",
    bind=True,
    max_retries=QUOTES_MAX_RETRIES,
    soft_time_limit=240,
    time_limit=300,
)
def fetch_daily_quotes(self: Task[Any, Any], as_of: str | None = None) -> dict[str, Any]:
    """Store the latest closed trading day's quotes; retry every 10 minutes until the exchanges publish it
    (or stop blocking us: a block page is retried the same way).

    The first run's moment is pinned in ``as_of`` for its retries, so a retry after midnight still
    looks for the same trading day.
    """
    now = dt.datetime.fromisoformat(as_of) if as_of else timezone.now()
    try:
        result = quotes_fetch_day(now=now)
    except (QuotesNotPublishedYet, SourceBlocked) as exc:
        logger.info("Quotes not available yet, retrying in %ss: %s", QUOTES_RETRY_SECONDS, exc.message)
        raise self.retry(exc=exc, countdown=QUOTES_RETRY_SECONDS, kwargs={"as_of": now.isoformat()}) from exc
    except Exception:
        logger.exception("Fetching the daily quotes failed")
        raise
    return {
        "trade_date": result.trade_date.isoformat() if result.trade_date else None,
        "message": result.message,
        "stored": {name: dataclasses.asdict(stored) for name, stored in result.stored.items()},
        "feeds": {name: outcome.as_dict() for name, outcome in result.feeds.items()},
    }


@shared_task(name="market.fetch_news_feeds", soft_time_limit=240, time_limit=300)
def fetch_news_feeds() -> dict[str, int]:
    """Fetch every active RSS/Atom feed; a failing feed records its error on its row."""
    return dataclasses.asdict(news_fetch_feeds())
