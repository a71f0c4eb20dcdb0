"""A batch's progress as server-sent events, read from the database.

The stream is rebuilt from stored state, so a reconnecting browser gets the whole story again:
``batch_start`` first, then one ``item_done`` (with the post id) or ``item_failed`` (with the error) per
item outcome in the order they were recorded, a ``progress`` event whenever the counts change, and
``batch_end`` once the batch has ended, after which the stream closes. It polls every
``GENERATION_EVENTS_POLL_SECONDS``; a comment line keeps idle connections open through proxies.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone

from posting.generation.batches import batch_progress
from posting.models import BatchItem, GenerationBatch

KEEPALIVE_SECONDS = 15.0
ItemStatus = BatchItem.Status


def _close_connection() -> None:
    connection.close()  # looked up in the thread that runs it: connections are per thread


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _batch_data(batch: GenerationBatch) -> dict[str, Any]:
    return {
        "batch": batch.pk,
        "status": batch.status,
        "source": batch.source,
        "post_type": batch.post_type,
        "writer": batch.writer,
        "total": batch.requested_count,
        "created_at": timezone.localtime(batch.created_at).isoformat(),
    }


def _end_data(batch: GenerationBatch) -> dict[str, Any]:
    return {
        "batch": batch.pk,
        "status": batch.status,
        "error_summary": batch.error_summary,
        "finished_at": timezone.localtime(batch.finished_at).isoformat() if batch.finished_at else None,
        **batch_progress(batch),
    }


def _item_event(row: dict[str, Any]) -> str:
    base = {"batch": row["batch_id"], "item": row["pk"], "position": row["position"], "kol": row["kol_id"]}
    base["stock"] = row["stock__code"]
    base["attempts"] = row["attempts"]
    if row["status"] == ItemStatus.SUCCEEDED:
        return sse("item_done", {**base, "post_id": str(row["post_id"]) if row["post_id"] else None})
    return sse("item_failed", {**base, "error": row["error"], "code": row["error_code"]})


async def _new_outcomes(batch_id: int, seen: set[int]) -> list[dict[str, Any]]:
    rows = (
        BatchItem.objects.filter(batch_id=batch_id, status__in=(ItemStatus.SUCCEEDED, ItemStatus.FAILED))
        .exclude(pk__in=seen)
        .order_by("finished_at", "position")
        .values(
            "pk",
            "batch_id",
            "position",
            "kol_id",
            "stock__code",
            "status",
            "post_id",
            "error",
            "error_code",
            "attempts",
        )
    )
    return [dict(row) async for row in rows]


async def batch_events(*, batch_id: int, poll_seconds: float | None = None) -> AsyncIterator[str]:
    """The event stream of one batch (see the module docstring); ends after ``batch_end``."""
    poll = poll_seconds if poll_seconds is not None else settings.GENERATION_EVENTS_POLL_SECONDS
    seen: set[int] = set()
    last_progress: dict[str, int] | None = None
    last_sent = time.monotonic()
    try:
        batch = await GenerationBatch.objects.aget(pk=batch_id)
        yield sse("batch_start", _batch_data(batch))
        while True:
            # The batch first, then the items: when it has ended, every outcome is already committed.
            batch = await GenerationBatch.objects.aget(pk=batch_id)
            chunk = []
            for row in await _new_outcomes(batch_id, seen):
                seen.add(row["pk"])
                chunk.append(_item_event(row))
            progress = batch_progress(batch)
            if progress != last_progress:
                chunk.append(sse("progress", progress))
                last_progress = progress
            if batch.finished_at is not None:
                chunk.append(sse("batch_end", _end_data(batch)))
                yield "".join(chunk)
                return
            if chunk:
                yield "".join(chunk)
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
            await asyncio.sleep(poll)
    finally:
        # A stream can last minutes: give its database connection back instead of holding it idle.
        await sync_to_async(_close_connection)()
