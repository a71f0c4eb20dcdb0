from __future__ import annotations

import json
import subprocess

import pytest
from django.test import Client

from tests.conftest import PYTHON, ROOT, child_env

PROBE = (
    "import django, json; django.setup();"
    "from django.test import Client; r = Client().get('/health/');"
    "print(json.dumps({'code': r.status_code, 'body': r.json()}))"
)


def _probe(**env: str) -> dict[str, object]:
    result = subprocess.run(
        [PYTHON, "-c", PROBE], cwd=ROOT, env=child_env(**env), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_health_is_503_and_down_when_the_database_is_unreachable() -> None:
    answer = _probe(DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")
    assert answer["code"] == 503
    body = answer["body"]
    assert body["status"] == "down"  # type: ignore[index]
    assert body["checks"]["database"]["status"] == "fail"  # type: ignore[index]
    assert "database" in body["failed"]  # type: ignore[index]


def test_health_is_503_naming_the_broker_when_it_is_unreachable() -> None:
    answer = _probe(REDIS_URL="", CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    assert answer["code"] == 503
    body = answer["body"]
    assert body["checks"]["broker"]["status"] == "fail"  # type: ignore[index]
    assert body["checks"]["database"]["status"] == "ok"  # type: ignore[index]
    assert body["status"] == "degraded"  # type: ignore[index]


@pytest.mark.django_db
def test_health_without_a_worker_says_so(settings: object) -> None:
    from django.core.cache import cache

    from config.health import HEARTBEAT_KEY

    cache.delete(HEARTBEAT_KEY)
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {"status": "fail", "error": "no worker heartbeat recorded"}


@pytest.mark.django_db
def test_health_is_served_without_login_and_never_cached() -> None:
    response = Client().get("/health/")
    assert "no-cache" in response["Cache-Control"]
    assert set(response.json()["checks"]) == {"database", "broker", "worker"}


@pytest.mark.django_db
def test_a_halted_platform_is_an_alert_beside_passing_checks_not_a_failure() -> None:
    import datetime as dt

    from config.health import record_worker_heartbeat
    from posting.models import PlatformHalt

    record_worker_heartbeat("test@host")
    assert Client().get("/health/").json()["alerts"] == []
    PlatformHalt.objects.create(
        platform="cmoney",
        reason="invalid_client: the client id was refused",
        halted_at=dt.datetime(2026, 12, 5, 1, 30, tzinfo=dt.UTC),
    )

    response = Client().get("/health/")

    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok" and body["failed"] == []
    assert body["alerts"] == [
        {
            "source": "publishing",
            # The time in the product's zone, Asia/Taipei.
            "message": "Sending to cmoney is halted since 2026-12-05T09:30:00+08:00: "
            "invalid_client: the client id was refused",
        }
    ]


@pytest.mark.django_db
def test_an_alert_that_cannot_be_read_says_so_and_health_still_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from config import health

    def broken() -> list[str]:
        raise RuntimeError("boom")

    monkeypatch.setitem(health.ALERTS, "broken", broken)

    alerts = Client().get("/health/").json()["alerts"]

    assert {"source": "broken", "message": "could not be read: RuntimeError"} in alerts
