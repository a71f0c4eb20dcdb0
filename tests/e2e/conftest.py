"""Browser tests: Playwright driving Debian's Chromium (no browser is downloaded).

Playwright's sync API keeps an asyncio loop running in this thread while it is started, and Django
refuses ORM calls next to a running loop. So each test starts its own Playwright *after* the database
fixtures, allows sync ORM calls only while it runs, and stops Playwright before the database is reset:
no other test ever runs next to a live loop.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def _live_server_sessions_ended(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """At the end of the run, end the database sessions the live server's request threads still hold.

    Those threads are daemons that close their connection when the browser's keep-alive socket closes,
    which can be after pytest-django starts dropping the test database ("is being accessed by other
    users"). Requested before ``live_server``, so this runs after the browser tests, before the drop.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()


@pytest.fixture
def page(
    _live_server_sessions_ended: None,
    live_server: Any,
    transactional_db: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Page]:
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests, but no Chromium was found (.ci/run installs it).")
        pytest.skip("needs Chromium: apt-get install chromium (.ci/run installs it)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei")
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
