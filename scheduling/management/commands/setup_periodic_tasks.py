import json
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from scheduling.beat import BEAT_ENTRIES, PREFIX


class Command(BaseCommand):
    help = (
        "Declare every KOL Studio beat entry in django-celery-beat (idempotent; removes our retired entries)."
    )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        declared = set()
        for entry in BEAT_ENTRIES:
            crontab, _created = CrontabSchedule.objects.get_or_create(
                minute=entry.minute,
                hour=entry.hour,
                day_of_week=entry.day_of_week,
                day_of_month="*",
                month_of_year="*",
                timezone="Asia/Taipei",
            )
            task, created = PeriodicTask.objects.update_or_create(
                name=entry.name,
                defaults={
                    "task": entry.task,
                    "crontab": crontab,
                    "interval": None,
                    "kwargs": json.dumps(entry.kwargs),
                    "description": entry.description,
                    "enabled": True,
                    "one_off": False,
                },
            )
            declared.add(entry.name)
            self.stdout.write(f"{'created' if created else 'updated'}: {task.name} -> {task.task}")
        retired, _ = PeriodicTask.objects.filter(name__startswith=PREFIX).exclude(name__in=declared).delete()
        if retired:
            self.stdout.write(f"removed {retired} retired entr{'y' if retired == 1 else 'ies'}")
