"""The thin tasks beat runs: they call one service each and report what it did."""

from __future__ import annotations

from typing import Any

import pytest

from analytics.tasks import collect_snapshots, dispatch_snapshots, take_kol_snapshots
from scheduling.beat import BEAT_ENTRIES

pytestmark = pytest.mark.django_db


def test_beat_runs_the_dispatcher_every_minute_and_the_kol_totals_daily() -> None:
    entries = {entry.task: entry for entry in BEAT_ENTRIES}
    assert entries["analytics.dispatch_snapshots"].minute == "*"
    assert (entries["analytics.take_kol_snapshots"].minute, entries["analytics.take_kol_snapshots"].hour) == (
        "5",
        "3",
    )


def test_with_nothing_due_the_tasks_do_nothing(settings: Any) -> None:
    settings.REDIS_URL = ""
    assert dispatch_snapshots() == {"planned": 0, "workers": 0}
    assert collect_snapshots() == {"collected": 0, "retried": 0, "failed": 0, "stopped": 0}
    assert take_kol_snapshots() == {"taken": 0}
