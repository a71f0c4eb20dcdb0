from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from kols.roles import ADMINISTRATOR, REVIEWER, WRITER

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
ON_REDIS = bool(settings.REDIS_URL)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://... (CI does)")
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not ON_REDIS:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_unless_asked(request: pytest.FixtureRequest, settings: Any) -> Iterator[None]:
    """Tests read messages in English; tests marked ``default_language`` see the product default (zh-hant)."""
    if request.node.get_closest_marker("default_language"):
        yield
        return
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _user_in(role: str, username: str) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def writer(db: None) -> User:
    return _user_in(WRITER, "writer")


@pytest.fixture
def reviewer(db: None) -> User:
    return _user_in(REVIEWER, "reviewer")


@pytest.fixture
def administrator(db: None) -> User:
    return _user_in(ADMINISTRATOR, "administrator")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as(api: APIClient) -> Any:
    def login(user: User) -> APIClient:
        api.force_authenticate(user)
        return api

    return login


def database_url_for_subprocess() -> str:
    """The URL of the database this test uses (the test database), for a child process."""
    from django.db import connection

    params = connection.settings_dict
    if params["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{params['NAME']}"


def child_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_"))}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.setdefault("LANGUAGE_CODE", "en")  # like the tests themselves, child processes speak English
    env.update(overrides)
    return env


class CeleryWorker:
    """A real `celery worker` process consuming one private queue, against the test database."""

    def __init__(self, queue: str, env: dict[str, str], log: Path) -> None:
        self.queue = queue
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "-Q",
                self.queue,
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{self.queue}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log.read_text(errors="replace"):
                return
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(
            f"Celery worker did not start; log:\n{self.log.read_text(errors='replace')[-3000:]}"
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


@pytest.fixture
def celery_worker(transactional_db: None, tmp_path: Path) -> Iterator[CeleryWorker]:
    """Needs Redis and a database another process can see (PostgreSQL in CI)."""
    if not ON_REDIS:
        pytest.skip("needs Redis: set REDIS_URL=redis://... (CI does)")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = child_env(
        DATABASE_URL=database_url_for_subprocess(),
        CELERY_TASK_DEFAULT_QUEUE=queue,
        WORKER_HEARTBEAT_SECONDS="1",
    )
    worker = CeleryWorker(queue, env, tmp_path / "worker.log")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def demo_world(db: None) -> dict[str, int]:
    """The demo world (manage.py demo), loaded at a pinned time: every admin page has rows to show."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import time_machine

    from demo.world import demo_load

    with time_machine.travel(dt.datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("Asia/Taipei")), tick=False):
        return demo_load()


@pytest.fixture(autouse=True)
def _no_api_throttling(settings: Any) -> None:
    """Throttle counters live in the shared cache and every test calls from 127.0.0.1: off unless a test
    sets a rate (tests/config/test_hardening.py)."""
    settings.API_THROTTLE_ANON_RATE = ""
    settings.API_THROTTLE_USER_RATE = ""
