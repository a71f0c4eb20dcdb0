from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from kols.models import KOL, Platform, PlatformAccount
from tests.factories import KOLFactory, PlatformAccountFactory

pytestmark = pytest.mark.django_db


def _violates(**fields: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        KOLFactory(**fields)


def test_kol_serial_is_unique() -> None:
    KOLFactory(serial="123")
    _violates(serial="123")


@pytest.mark.parametrize(
    "field", ["tone_formal", "tone_emotion", "tone_confidence", "tone_urgency", "tone_interaction"]
)
@pytest.mark.parametrize("value", [0, 11])
def test_tone_sliders_stay_between_1_and_10(field: str, value: int) -> None:
    _violates(**{field: value})


def test_hourly_cap_cannot_exceed_daily_cap() -> None:
    _violates(max_posts_per_hour=5, max_posts_per_day=3)


def test_temperature_stays_between_0_and_2() -> None:
    _violates(llm_temperature=3)


def test_unknown_persona_is_refused_by_the_database() -> None:
    _violates(persona="astrology")


def test_a_kol_has_one_account_per_platform() -> None:
    account = PlatformAccountFactory(platform=Platform.CMONEY)
    with pytest.raises(IntegrityError), transaction.atomic():
        PlatformAccountFactory(kol=account.kol, platform=Platform.CMONEY)
    PlatformAccountFactory(kol=account.kol, platform=Platform.WEBHOOK)
    assert PlatformAccount.objects.filter(kol=account.kol).count() == 2


def test_a_paused_account_must_say_why() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PlatformAccountFactory(status=PlatformAccount.Status.PAUSED, paused_reason="")
    paused = PlatformAccountFactory(status=PlatformAccount.Status.PAUSED, paused_reason="3 failed logins")
    assert paused.paused_reason == "3 failed logins"


def test_new_kols_start_in_dry_run() -> None:
    assert KOL().dry_run is True
