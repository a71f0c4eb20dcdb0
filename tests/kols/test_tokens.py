"""API tokens that cannot be read: hashed, named, expiring, shown once, revocable (issue 10, item 3)."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from config.exceptions import ServiceError
from kols.models import ApiToken
from kols.tokens import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def test_only_a_digest_is_stored_and_the_token_authenticates(reviewer: User) -> None:
    token, key = api_token_create(user=reviewer, name="nightly report", days=30)
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in (stored.digest, stored.token_key) and len(stored.digest) == 128
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM kols_apitoken")
        assert key not in str(cursor.fetchall())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/posts/").status_code == 200
    assert stored.expiry is not None
    assert dt.timedelta(days=29) < stored.expiry - timezone.now() <= dt.timedelta(days=30)


def test_an_expired_token_no_longer_works(reviewer: User) -> None:
    _token, key = api_token_create(user=reviewer, name="short", days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        assert client.get("/api/posts/").status_code == 401


def test_a_token_needs_a_name_and_a_sane_lifetime(reviewer: User, settings: Any) -> None:
    with pytest.raises(ServiceError) as refused:
        api_token_create(user=reviewer, name=" ")
    assert "name" in refused.value.fields
    with pytest.raises(ServiceError) as refused:
        api_token_create(user=reviewer, name="x", days=settings.API_TOKEN_MAX_DAYS + 1)
    assert "days" in refused.value.fields


def test_users_create_list_and_revoke_their_tokens_over_the_api_and_never_read_one(
    api_as: Any, writer: User, reviewer: User
) -> None:
    api_token_create(user=reviewer, name="someone else's")
    client = api_as(writer)
    created = client.post("/api/tokens/", {"name": "my script", "days": 7}, format="json")
    assert created.status_code == 201
    key = created.json()["token"]
    listed = client.get("/api/tokens/").json()
    assert [item["name"] for item in listed["results"]] == ["my script"]
    assert key not in str(listed) and "token" not in listed["results"][0]
    token_id = listed["results"][0]["id"]
    assert client.delete(f"/api/tokens/{token_id}/").status_code == 204
    assert not ApiToken.objects.filter(user=writer).exists()
    other = ApiToken.objects.get(user=reviewer)
    assert client.delete(f"/api/tokens/{other.uid}/").status_code == 404


def test_only_the_owner_or_an_administrator_revokes(
    writer: User, reviewer: User, administrator: User
) -> None:
    token, _key = api_token_create(user=reviewer, name="r")
    with pytest.raises(ServiceError):
        api_token_revoke(token=token, by=writer)
    api_token_revoke(token=token, by=administrator)
    assert not ApiToken.objects.exists()


def test_the_admin_lists_names_never_keys_and_shows_a_new_token_once(client: Any, writer: User) -> None:
    superuser = User.objects.create_superuser("boss")
    token, key = api_token_create(user=superuser, name="boss script")
    client.force_login(superuser)
    listing = client.get("/admin/kols/apitoken/").content.decode()
    # The row id is the token's SHA-512 digest (one-way); nothing of the token itself is shown.
    assert "boss script" in listing and key not in listing and token.token_key not in listing
    detail = client.get(f"/admin/kols/apitoken/{token.pk}/change/").content.decode()
    assert key not in detail and token.token_key not in detail
    page = client.post("/admin/kols/apitoken/add/", {"user": writer.pk, "name": "writer cli", "days": 5})
    new = ApiToken.objects.get(name="writer cli")
    shown = page.content.decode()
    assert 'id="token-value"' in shown
    key_shown = shown.split('id="token-value">')[1].split("<")[0]
    assert key_shown and key_shown[: len(new.token_key)] == new.token_key
    assert key_shown not in client.get("/admin/kols/apitoken/").content.decode()


def test_the_migration_hashes_old_plaintext_tokens_and_deletes_them(writer: User) -> None:
    migration = importlib.import_module("kols.migrations.0005_api_tokens_hashed")
    from django.apps import apps

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id int, created timestamptz)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, now())", ["a" * 40, writer.pk])

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.hash_the_old_plaintext_tokens(apps, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {'a' * 40}")
    assert client.get("/api/posts/").status_code == 200
    assert ApiToken.objects.get(user=writer).name == migration.MIGRATED_NAME
