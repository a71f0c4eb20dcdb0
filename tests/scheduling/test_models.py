from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from scheduling.models import Schedule
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db


def test_new_schedules_start_paused_without_auto_approve() -> None:
    schedule = Schedule()
    assert schedule.status == Schedule.Status.PAUSED
    assert schedule.auto_approve is False


@pytest.mark.parametrize("times", [["25:00"], ["9:30"], ["14:30", "14:30"], [], "14:30"])
def test_post_times_must_be_a_list_of_distinct_hh_mm(times: object) -> None:
    schedule = ScheduleFactory.build(post_times=times)
    with pytest.raises(ValidationError) as error:
        schedule.full_clean()
    assert "post_times" in error.value.message_dict


def test_trigger_config_is_validated_against_its_type_naming_the_key() -> None:
    schedule = ScheduleFactory.build(trigger_type="limit_up", trigger_config={"threshold_pct": 30})
    with pytest.raises(ValidationError) as error:
        schedule.full_clean()
    assert any("threshold_pct" in message for message in error.value.message_dict["trigger_config"])


def test_trigger_config_refuses_unknown_keys() -> None:
    schedule = ScheduleFactory.build(trigger_type="top_gainers", trigger_config={"limt": 5})
    with pytest.raises(ValidationError) as error:
        schedule.full_clean()
    assert "limt" in " ".join(error.value.message_dict["trigger_config"])


def test_a_valid_schedule_passes_full_clean() -> None:
    ScheduleFactory.build(
        trigger_type="individual", trigger_config={"stock_codes": ["2330", "6488"]}
    ).full_clean()


def test_the_database_refuses_a_run_bigger_than_the_daily_cap() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduleFactory(posts_per_run=5, max_posts_per_day=3)
