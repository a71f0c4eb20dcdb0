from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from kols.crypto import MASK, Secret, decrypt
from kols.models import PlatformAccount
from kols.services import account_update_credentials
from tests.factories import PlatformAccountFactory

pytestmark = pytest.mark.django_db

PASSWORD = "S3cret-pa55word-不外流"
LOGIN = "persona.one@example.com"


def _raw_columns(account: PlatformAccount) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT login, password, access_token FROM kols_platformaccount WHERE id = %s", [account.pk]
        )
        row = cursor.fetchone()
    assert row is not None
    return row[0], row[1], row[2]


@pytest.fixture
def account() -> PlatformAccount:
    account = PlatformAccountFactory(
        login=Secret(LOGIN), password=Secret(PASSWORD), access_token=Secret("tok-abc-123")
    )
    return PlatformAccount.objects.get(pk=account.pk)


def test_credentials_round_trip_through_the_database(account: PlatformAccount) -> None:
    assert account.login.reveal() == LOGIN
    assert account.password.reveal() == PASSWORD
    assert account.access_token.reveal() == "tok-abc-123"


def test_the_database_holds_only_ciphertext(account: PlatformAccount) -> None:
    login, password, token = _raw_columns(account)
    for stored, plain in ((login, LOGIN), (password, PASSWORD), (token, "tok-abc-123")):
        assert plain not in stored
        assert stored.startswith("gAAAAA")  # a Fernet token
        assert decrypt(stored) == plain


def test_key_rotation_reencrypts_under_the_newest_key(account: PlatformAccount, settings: object) -> None:
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_keys")

    # The new key alone now reads every column, and the plaintext is unchanged.
    for stored, plain in zip(_raw_columns(account), (LOGIN, PASSWORD, "tok-abc-123"), strict=True):
        assert Fernet(new_key.encode()).decrypt(stored.encode()).decode() == plain
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert PlatformAccount.objects.get(pk=account.pk).password.reveal() == PASSWORD


def test_a_value_under_a_dropped_key_fails_loudly(account: PlatformAccount, settings: object) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    from kols.crypto import DecryptionError

    with pytest.raises(DecryptionError, match="FIELD_ENCRYPTION_KEYS"):
        PlatformAccount.objects.get(pk=account.pk)


def test_secrets_are_masked_in_str_repr_and_fstrings(account: PlatformAccount) -> None:
    rendered = [
        str(account.password),
        repr(account.password),
        f"{account.password}",
        repr(account),
        str(account),
        repr(account.__dict__),
    ]
    for text in rendered:
        assert PASSWORD not in text
        assert LOGIN not in text
    assert str(account.password) == MASK


def test_secrets_never_reach_captured_logs(
    account: PlatformAccount, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("kolstudio.test")
    with caplog.at_level(logging.DEBUG):
        logger.info("account %s password %s login %r", account, account.password, account.login)
        logger.info("fields %s", account.__dict__)
    assert caplog.text
    assert PASSWORD not in caplog.text
    assert LOGIN not in caplog.text


def test_admin_never_shows_stored_credentials(account: PlatformAccount, admin_client: Client) -> None:
    pages = [
        admin_client.get("/admin/kols/platformaccount/"),
        admin_client.get(f"/admin/kols/platformaccount/{account.pk}/change/"),
        admin_client.get(f"/admin/kols/kol/{account.kol_id}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert PASSWORD not in html
        assert LOGIN not in html
        assert "tok-abc-123" not in html
    assert "p***@example.com" in pages[0].content.decode()


def test_admin_saves_new_credentials_encrypted_and_blank_keeps_them(
    account: PlatformAccount, admin_client: Client
) -> None:
    url = f"/admin/kols/platformaccount/{account.pk}/change/"
    form = {
        "kol": account.kol_id,
        "platform": "cmoney",
        "status": "active",
        "paused_reason": "",
        "new_login": "",
        "new_password": "",
    }
    assert admin_client.post(url, form).status_code == 302
    assert PlatformAccount.objects.get(pk=account.pk).password.reveal() == PASSWORD

    assert admin_client.post(url, {**form, "new_password": "brand-new-pw"}).status_code == 302
    saved = PlatformAccount.objects.get(pk=account.pk)
    assert saved.password.reveal() == "brand-new-pw"
    assert not saved.access_token, "a changed password drops the cached token"
    assert "brand-new-pw" not in _raw_columns(saved)[1]


def test_api_output_never_contains_credentials(account: PlatformAccount, administrator: User) -> None:
    client = APIClient()
    client.force_authenticate(administrator)
    for url in ("/api/kols/", f"/api/kols/{account.kol_id}/"):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert PASSWORD not in body and LOGIN not in body and "tok-abc-123" not in body
    assert '"has_credentials":true' in body


def test_secrets_refuse_to_be_pickled(account: PlatformAccount) -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(account.password)


def test_update_credentials_service_ignores_blank_values(account: PlatformAccount) -> None:
    account_update_credentials(account=account, login="", password=None)
    assert PlatformAccount.objects.get(pk=account.pk).access_token.reveal() == "tok-abc-123"
