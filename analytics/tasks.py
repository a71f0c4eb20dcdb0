from __future__ import annotations

from celery import shared_task

from analytics.services import analyses_refresh, playbooks_propose


@shared_task(name="analytics.refresh_analyses", soft_time_limit=1800, time_limit=1860)
def refresh_analyses() -> dict[str, int]:
    return analyses_refresh()


@shared_task(name="analytics.propose_playbooks", soft_time_limit=1800, time_limit=1860)
def propose_playbooks() -> dict[str, int]:
    return playbooks_propose()
