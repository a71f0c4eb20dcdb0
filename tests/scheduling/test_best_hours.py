"""Schedules that opt in to best hours run at their pool's active playbook hours (Asia/Taipei)."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from kols.models import KOL, Playbook
from scheduling import tasks
from scheduling.models import Schedule, ScheduleRun
from scheduling.services import schedule_save
from scheduling.slots import schedule_post_times
from tests.scheduling.schedule_setup import active_schedule, kols, market_day, taipei

pytestmark = pytest.mark.django_db


def playbook(kol: KOL, best_hours: list[int], status: str = Playbook.Status.ACTIVE, version: int = 1) -> None:
    Playbook.objects.create(kol=kol, version=version, status=status, best_hours=best_hours)


def test_an_opted_in_schedule_runs_at_the_union_of_its_pool_active_best_hours() -> None:
    pool = kols(2)
    playbook(pool[0], [15, 9])
    playbook(pool[1], [9, 20])
    playbook(pool[1], [6], status=Playbook.Status.RETIRED, version=2)
    schedule = active_schedule(taipei(2026, 11, 23, 8, 0), pool=pool, use_best_hours=True)
    assert schedule_post_times(schedule) == ["09:00", "15:00", "20:00"]
    assert schedule.next_run_at == taipei(2026, 11, 23, 9, 0)


def test_a_schedule_that_does_not_opt_in_keeps_its_own_post_times() -> None:
    pool = kols(1)
    playbook(pool[0], [9])
    schedule = active_schedule(taipei(2026, 11, 23, 8, 0), pool=pool)
    assert schedule_post_times(schedule) == ["14:30"]
    assert schedule.next_run_at == taipei(2026, 11, 23, 14, 30)


def test_without_an_active_playbook_or_best_hours_the_schedule_falls_back_to_its_post_times() -> None:
    pool = kols(2)
    playbook(pool[0], [9], status=Playbook.Status.PROPOSED)
    playbook(pool[1], [])
    schedule = active_schedule(taipei(2026, 11, 23, 8, 0), pool=pool, use_best_hours=True)
    assert schedule_post_times(schedule) == ["14:30"]
    assert schedule.next_run_at == taipei(2026, 11, 23, 14, 30)


def test_saving_again_after_a_playbook_is_activated_moves_the_next_run_to_the_best_hour() -> None:
    pool = kols(1)
    schedule = active_schedule(taipei(2026, 11, 23, 8, 0), pool=pool, use_best_hours=True)
    assert schedule.next_run_at == taipei(2026, 11, 23, 14, 30)
    playbook(pool[0], [10])
    saved = schedule_save(schedule=Schedule.objects.get(pk=schedule.pk), now=taipei(2026, 11, 23, 8, 5))
    assert saved.next_run_at == taipei(2026, 11, 23, 10, 0)


def test_the_admin_form_offers_the_choice_in_zh_hant_and_saving_it_runs_at_the_best_hour(
    administrator: User,
) -> None:
    pool = kols(1)
    playbook(pool[0], [11])
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hant")
    client.force_login(administrator)
    page = client.get(reverse("admin:scheduling_schedule_add")).content.decode()
    assert 'name="use_best_hours"' in page and "採用 KOL 的最佳時段" in page
    data = {
        "name": "最佳時段",
        "description": "",
        "status": "active",
        "trigger_type": "top_gainers",
        "config__top_gainers__limit": 5,
        "post_type": "analysis",
        "post_length": "medium",
        "kol_pool": [pool[0].pk],
        "allocation_strategy": "round_robin",
        "posts_per_run": 1,
        "max_posts_per_day": 3,
        "post_times": "8:30",
        "use_best_hours": "on",
        "days_rule": "trading_days",
        "missed_run_policy": "skip",
        "missed_run_grace_minutes": 30,
        "auto_approve_min_quality": 0.8,
    }
    with time_machine.travel(taipei(2026, 11, 23, 9, 0), tick=False):
        response = client.post(reverse("admin:scheduling_schedule_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = Schedule.objects.get(name="最佳時段")
    assert schedule.use_best_hours and schedule.post_times == ["08:30"]
    assert schedule.next_run_at == taipei(2026, 11, 23, 11, 0)


def test_the_dispatcher_runs_an_opted_in_schedule_at_the_best_hours_and_moves_to_the_next_one() -> None:
    market_day()
    pool = kols(2)
    playbook(pool[0], [10, 13])
    schedule = active_schedule(taipei(2026, 11, 23, 8, 0), pool=pool, use_best_hours=True, posts_per_run=1)
    assert schedule.next_run_at == taipei(2026, 11, 23, 10, 0)
    with time_machine.travel(taipei(2026, 11, 23, 10, 0, 5), tick=False):
        tasks.dispatch_due_schedules()
    assert list(ScheduleRun.objects.filter(schedule=schedule).values_list("slot", flat=True)) == [
        "2026-11-23T10:00+08:00"
    ]
    schedule.refresh_from_db()
    assert schedule.next_run_at == taipei(2026, 11, 23, 13, 0)
