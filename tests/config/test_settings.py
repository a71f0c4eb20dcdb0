from __future__ import annotations

import subprocess

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.env import Env
from tests.conftest import PYTHON, ROOT, child_env

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "production-secret-key-for-tests-only-0123456789",
    "ALLOWED_HOSTS": "kol.example.com",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    """Start Django in a fresh process with exactly this environment (plus the machine's)."""
    base = child_env()
    for key in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEYS"):
        base.pop(key, None)
    base.update(env)
    return subprocess.run(
        [PYTHON, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mongo://localhost/db"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("CELERY_BROKER_URL", "kafka://x"),
        ("CELERY_TASK_SOFT_TIME_LIMIT", "five"),
        ("WORKER_HEARTBEAT_MAX_AGE", "-3"),
        ("FIELD_ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("LANGUAGE_CODE", "fr"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(name: str, value: str) -> None:
    result = _start(**{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_its_secrets(missing: str) -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = _start(**env)
    assert result.returncode != 0
    assert missing in result.stderr.splitlines()[-1]


def test_production_starts_with_everything_set() -> None:
    result = _start(**PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_check_deploy_is_clean_under_production_settings() -> None:
    env = child_env(**PRODUCTION)
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_embedded_default_needs_nothing_set() -> None:
    result = _start(DEBUG="", DATABASE_URL="", REDIS_URL="", CELERY_BROKER_URL="")
    assert result.returncode == 0, result.stderr


class TestEnvReader:
    def test_booleans_accept_the_usual_spellings(self) -> None:
        env = Env({"A": "yes", "B": "0", "C": "On"})
        assert (env.get_bool("A", False), env.get_bool("B", True), env.get_bool("C", False)) == (
            True,
            False,
            True,
        )
        assert env.get_bool("MISSING", True) is True

    def test_an_integer_below_its_minimum_names_the_variable(self) -> None:
        with pytest.raises(ImproperlyConfigured, match="PAGE_SIZE"):
            Env({"PAGE_SIZE": "0"}).get_int("PAGE_SIZE", 5, minimum=1)

    def test_lists_are_comma_separated_and_trimmed(self) -> None:
        assert Env({"HOSTS": " a.tw, b.tw ,,"}).get_list("HOSTS") == ["a.tw", "b.tw"]

    def test_database_urls_become_django_settings(self) -> None:
        config = Env({"DATABASE_URL": "postgres://u:p@db:5432/kol"}).get_db_url("DATABASE_URL", "sqlite:///x")
        assert config["ENGINE"] == "django.db.backends.postgresql"
        assert (config["HOST"], config["NAME"], config["PORT"]) == ("db", "kol", 5432)
