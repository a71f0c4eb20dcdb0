"""Queue a Celery task by its registered name once the surrounding transaction commits.

Services enqueue through here instead of importing task modules, so tasks stay the thin top layer that
imports services and never the other way round (the layers contract in pyproject.toml checks it).
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def task_enqueue_on_commit(name: str, *, args: tuple[Any, ...] = (), countdown: float = 0) -> None:
    """Send task ``name`` after the current transaction commits (at once outside one).

    robust=True: a broker outage must not undo what committed. Every caller has a sweeper that sends
    again what was due and never went (the outbox by ``task_eta``, batches by their lease deadline).
    """

    def send() -> None:
        current_app.send_task(name, args=args, countdown=countdown)

    transaction.on_commit(send, robust=True)
