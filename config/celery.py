"""The Celery application: settings come from Django's (CELERY_* names), tasks from each app's tasks.py."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kolstudio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["config"])


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Writes a heartbeat to the shared cache every few seconds while the worker consumes.

    /health/ reads it. Unlike a control-channel ping this works with every broker, including the
    filesystem transport of the embedded default.
    """

    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        from django.conf import settings

        from config.health import record_worker_heartbeat

        hostname = parent.hostname
        record_worker_heartbeat(hostname)
        self.tref = parent.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_SECONDS, record_worker_heartbeat, (hostname,), priority=10
        )

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


app.steps["worker"].add(WorkerHeartbeat)
