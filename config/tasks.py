"""Housekeeping tasks that belong to no app."""

from __future__ import annotations

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(name="config.clear_expired_sessions", soft_time_limit=120, time_limit=150)
def clear_expired_sessions() -> int:
    """Delete expired admin/API sessions (what `manage.py clearsessions` does). Idempotent."""
    deleted, _details = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
