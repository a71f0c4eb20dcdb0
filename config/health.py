"""Liveness of what KOL Studio needs: the database, the broker and at least one Celery worker; and the
operator alerts the apps above register (a platform halted by our configuration), which are reported
beside the checks without failing them: a halted platform is a job for a person, not a reason for a
load balancer to take the web server out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "health:worker-heartbeat"


def record_worker_heartbeat(hostname: str) -> None:
    """Called by each worker on a timer (config.celery.WorkerHeartbeat)."""
    try:
        cache.set(HEARTBEAT_KEY, {"at": time.time(), "hostname": hostname}, timeout=None)
    except Exception:
        # The worker must keep consuming when the cache blips; /health/ will report the stale beat.
        logger.exception("Could not record the worker heartbeat")


def check_database() -> str | None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    return None


def check_broker() -> str | None:
    with current_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
    return None


def check_worker() -> str | None:
    beat = cache.get(HEARTBEAT_KEY)
    if not beat:
        return "no worker heartbeat recorded"
    age = time.time() - float(beat["at"])
    if age > settings.WORKER_HEARTBEAT_MAX_AGE:
        return f"last worker heartbeat {age:.0f}s ago (limit {settings.WORKER_HEARTBEAT_MAX_AGE}s)"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
}


# name -> a function returning the alert's sentences (empty when all is well). Registered by the apps
# in their AppConfig.ready(): config sits below them and never imports them.
ALERTS: dict[str, Callable[[], list[str]]] = {}


def register_alert(name: str, source: Callable[[], list[str]]) -> None:
    ALERTS[name] = source


def run_alerts() -> list[dict[str, str]]:
    alerts: list[dict[str, str]] = []
    for name, source in ALERTS.items():
        try:
            messages = source()
        except Exception as exc:
            logger.warning("Health alert %s could not be read: %s", name, exc)
            messages = [f"could not be read: {type(exc).__name__}"]
        alerts.extend({"source": name, "message": message} for message in messages)
    return alerts


def run_checks() -> dict[str, dict[str, str]]:
    results: dict[str, dict[str, str]] = {}
    for name, check in CHECKS.items():
        try:
            problem = check()
        except Exception as exc:
            logger.warning("Health check %s failed: %s", name, exc)
            problem = f"{type(exc).__name__}: {exc}"
        results[name] = {"status": "ok"} if problem is None else {"status": "fail", "error": problem}
    return results


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    failed = [name for name, result in checks.items() if result["status"] != "ok"]
    if not failed:
        overall = "ok"
    elif "database" in failed:
        overall = "down"
    else:
        overall = "degraded"
    alerts = run_alerts() if "database" not in failed else []
    return JsonResponse(
        {"status": overall, "checks": checks, "failed": failed, "alerts": alerts},
        status=200 if not failed else 503,
    )
