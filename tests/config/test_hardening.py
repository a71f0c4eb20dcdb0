"""Throttling and hardening (issue 10, item 4)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_anonymous_calls_are_throttled_with_429_in_the_error_shape(settings: Any) -> None:
    settings.API_THROTTLE_ANON_RATE = "2/minute"
    client = APIClient(REMOTE_ADDR="198.51.100.7")
    cache.delete("throttle_anon_198.51.100.7")
    statuses = [client.get("/api/posts/").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    answer = client.get("/api/posts/")
    assert answer.json()["error"]["code"] == "throttled" and int(answer["Retry-After"]) > 0


def test_each_user_has_a_rate(settings: Any, reviewer: User) -> None:
    settings.API_THROTTLE_USER_RATE = "3/minute"
    client = APIClient()
    client.force_authenticate(reviewer)
    cache.delete(f"throttle_user_{reviewer.pk}")
    statuses = [client.get("/api/posts/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_admin_logins_lock_after_repeated_failures(settings: Any, client: Client) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("alice", password="right-password", is_staff=True)
    for _ in range(3):
        client.post("/admin/login/", {"username": "alice", "password": "wrong"})
    locked = client.post("/admin/login/", {"username": "alice", "password": "right-password"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_pages_carry_csp_and_permissions_policy(admin_client: Client) -> None:
    for url in ["/admin/", "/api/docs/"]:
        response = admin_client.get(url)
        assert response.status_code == 200
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "camera=()" in response["Permissions-Policy"]


def test_swagger_ui_has_no_inline_script(admin_client: Client) -> None:
    page = admin_client.get("/api/docs/").content.decode()
    assert "<script>" not in page.replace(" ", "")


def test_the_language_cookie_is_secure_and_samesite_in_production() -> None:
    import subprocess
    import sys

    code = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_SAMESITE)"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false", "ALLOWED_HOSTS": "example.com",
        "SECRET_KEY": "x" * 50, "PATH": "/usr/bin:/bin", "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }  # fmt: skip
    import os

    env.update({k: v for k, v in os.environ.items() if k in ("DATABASE_URL", "REDIS_URL", "KOL_VAR_DIR")})
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "True Lax", out.stderr[-800:]
