"""What the schedule pages share: run status colours and times shown in Asia/Taipei."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from scheduling.runs import TAIPEI

RUN_LABELS = {"running": "info", "succeeded": "success", "failed": "danger", "skipped": "warning"}
RECENT_RUNS = 10
START_PERMISSION = "posting.add_generationbatch"


def local_time(value: Any) -> str:
    return timezone.localtime(value, TAIPEI).strftime("%Y-%m-%d %H:%M") if value else "—"
