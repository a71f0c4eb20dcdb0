from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from config.tasks import clear_expired_sessions
from tests.conftest import CeleryWorker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def _wait_for(condition: object, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_a_real_worker_executes_a_task_sent_through_redis(celery_worker: CeleryWorker) -> None:
    expired = SessionStore()
    expired.create()
    Session.objects.filter(pk=expired.session_key).update(expire_date=timezone.now() - dt.timedelta(days=1))
    live = SessionStore()
    live.create()

    clear_expired_sessions.apply_async(queue=celery_worker.queue)

    assert _wait_for(lambda: not Session.objects.filter(pk=expired.session_key).exists()), (
        celery_worker.log.read_text()[-2000:]
    )
    assert Session.objects.filter(pk=live.session_key).exists()
    assert "config.clear_expired_sessions" in celery_worker.log.read_text()


def test_health_is_ok_with_a_live_worker_and_fails_after_it_dies(
    celery_worker: CeleryWorker, settings: object
) -> None:
    assert _wait_for(lambda: Client().get("/health/").status_code == 200)
    body = Client().get("/health/").json()
    assert body == {
        "status": "ok",
        "checks": {"database": {"status": "ok"}, "broker": {"status": "ok"}, "worker": {"status": "ok"}},
        "failed": [],
        "alerts": [],
    }

    celery_worker.kill()
    settings.WORKER_HEARTBEAT_MAX_AGE = 2
    assert _wait_for(lambda: Client().get("/health/").status_code == 503, timeout=10)
    assert Client().get("/health/").json()["failed"] == ["worker"]
