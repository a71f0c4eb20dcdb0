"""Every beat entry KOL Studio runs, declared once. `manage.py setup_periodic_tasks` writes them to
django-celery-beat's tables (idempotently); beat's DatabaseScheduler reads them.

Beat runs a few dispatcher tasks that scan the database for due rows: never one entry per schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BeatEntry:
    name: str
    task: str
    # Crontab fields in Asia/Taipei (CELERY_TIMEZONE).
    minute: str = "*"
    hour: str = "*"
    day_of_week: str = "*"
    description: str = ""
    kwargs: dict[str, object] = field(default_factory=dict)


PREFIX = "kolstudio:"

BEAT_ENTRIES: list[BeatEntry] = [
    BeatEntry(
        name=f"{PREFIX}clear-expired-sessions",
        task="config.clear_expired_sessions",
        minute="17",
        hour="4",
        description="Delete expired login sessions.",
    ),
    BeatEntry(
        name=f"{PREFIX}fetch-daily-quotes",
        task="market.fetch_daily_quotes",
        minute="40",
        hour="14",
        # Every day, not Mon-Fri: a make-up trading day can fall on a Saturday (TradingDayOverride);
        # on a day the market is closed the task checks the calendar and does nothing.
        description="Store the day's TWSE and TPEx quotes after the close (retries until published; "
        "does nothing when the market is closed).",
    ),
    BeatEntry(
        name=f"{PREFIX}fetch-news-feeds",
        task="market.fetch_news_feeds",
        minute="*/30",
        description="Fetch every active RSS/Atom news feed and match the items to stocks.",
    ),
    BeatEntry(
        name=f"{PREFIX}stale-drafts",
        task="posting.handle_stale_drafts",
        minute="*/30",
        description="Flag or expire drafts waiting too long or written on prices that have moved.",
    ),
    BeatEntry(
        name=f"{PREFIX}dispatch-due-schedules",
        task="scheduling.dispatch_due_schedules",
        minute="*",
        description="Run every schedule whose next post time is due (one run per schedule and post time; "
        "missed post times follow each schedule's missed-run policy).",
    ),
    BeatEntry(
        name=f"{PREFIX}finalize-schedule-runs",
        task="scheduling.finalize_schedule_runs",
        minute="*",
        description="Close schedule runs whose generation batch has ended: count the drafts and, where a "
        "schedule auto-approves, approve the drafts that qualify.",
    ),
    BeatEntry(
        name=f"{PREFIX}dispatch-publications",
        task="posting.dispatch_publications",
        minute="*",
        description="Queue one publish task for every publication that is due (scheduled time reached, or "
        "publish now) and has none queued.",
    ),
    BeatEntry(
        name=f"{PREFIX}sweep-publications",
        task="posting.sweep_publications",
        minute="*",
        description="Mark sends whose worker died as unknown (to confirm), re-queue tasks the broker lost, and "
        "record why waiting publications of rejected or edited posts were not sent.",
    ),
    BeatEntry(
        name=f"{PREFIX}sweep-generation-batches",
        task="posting.sweep_generation_batches",
        minute="*",
        description="Take over generation batches whose task died or was lost: their running items go back "
        "to pending (or fail when out of attempts) and a new task continues the batch.",
    ),
    BeatEntry(
        name=f"{PREFIX}dispatch-snapshots",
        task="analytics.dispatch_snapshots",
        minute="*",
        description="Plan the interaction snapshots that fell due (one per post and age slot) and start the "
        "collectors; reads follow their own pace and never delay a publish.",
    ),
    BeatEntry(
        name=f"{PREFIX}take-kol-snapshots",
        task="analytics.take_kol_snapshots",
        minute="5",
        hour="3",
        description="Append each KOL's followers and article totals for the day.",
    ),
    BeatEntry(
        name=f"{PREFIX}refresh-analyses",
        task="analytics.refresh_analyses",
        minute="20",
        hour="5",
        description="Work out the features of newly scored posts and store the day's analyses (top 20%, best "
        "times, leaderboards, editor effort, learning lift) that the dashboards read.",
    ),
    BeatEntry(
        name=f"{PREFIX}propose-playbooks",
        task="analytics.propose_playbooks",
        minute="50",
        hour="5",
        day_of_week="1",
        description="Propose a new playbook version per KOL from its significant findings only; an "
        "Administrator reviews and activates it.",
    ),
]
