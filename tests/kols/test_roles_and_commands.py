from __future__ import annotations

import os
import stat
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from kols.roles import ADMINISTRATOR, REVIEWER, WRITER, ensure_roles
from scheduling.beat import BEAT_ENTRIES

pytestmark = pytest.mark.django_db


def test_roles_exist_after_migrate_with_their_permissions() -> None:
    writer, reviewer, admin = (Group.objects.get(name=name) for name in (WRITER, REVIEWER, ADMINISTRATOR))
    writer_perms = {p.codename for p in writer.permissions.all()}
    reviewer_perms = {p.codename for p in reviewer.permissions.all()}
    admin_perms = {p.codename for p in admin.permissions.all()}
    assert {"change_post", "view_post"} <= writer_perms
    assert "review_post" not in writer_perms
    assert {"review_post", "change_post"} <= reviewer_perms
    assert "change_kol" not in reviewer_perms
    assert {
        "change_kol",
        "change_platformaccount",
        "change_schedule",
        "review_post",
        "publish_post",
    } <= admin_perms


def test_ensure_roles_is_idempotent() -> None:
    first = ensure_roles()
    assert ensure_roles() == first
    assert Group.objects.filter(name__in=[WRITER, REVIEWER, ADMINISTRATOR]).count() == 3


def test_setup_periodic_tasks_declares_every_entry_once_and_removes_retired_ones() -> None:
    from django_celery_beat.models import IntervalSchedule

    every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="kolstudio:retired-job", task="gone.task", interval=every_minute)
    PeriodicTask.objects.create(name="someone-elses-job", task="other.task", interval=every_minute)
    call_command("setup_periodic_tasks", stdout=StringIO())
    call_command("setup_periodic_tasks", stdout=StringIO())
    names = set(PeriodicTask.objects.filter(name__startswith="kolstudio:").values_list("name", flat=True))
    assert names == {entry.name for entry in BEAT_ENTRIES}
    task = PeriodicTask.objects.get(name=BEAT_ENTRIES[0].name)
    assert task.crontab is not None and str(task.crontab.timezone) == "Asia/Taipei"
    assert PeriodicTask.objects.filter(name="someone-elses-job").exists()


def test_ensure_admin_creates_one_superuser_and_keeps_the_password_private(
    settings: object, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    secret_file = tmp_path / "admin-password.txt"
    password = secret_file.read_text().strip()
    assert password not in out.getvalue()
    assert str(secret_file) in out.getvalue()
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert admin.groups.filter(name=ADMINISTRATOR).exists()

    call_command("ensure_admin", stdout=out)
    assert User.objects.filter(is_superuser=True).count() == 1
    assert secret_file.read_text().strip() == password
