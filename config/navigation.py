"""The admin sidebar, ordered by the editor's day (unfold's SIDEBAR["navigation"]).

Groups: 審核 (review), 生成 (generation), KOL, 分析 (analytics), 市場資料 (market data), 設定 (settings),
then django-celery-beat's internals for superusers only. An item shows when the signed-in person has
its view permission, and a group with no visible item is hidden by unfold, so a Writer and a Reviewer
each see their own menu. Permissions are named by string: this module imports nothing from the apps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.urls import reverse_lazy
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _


def perm(name: str) -> Callable[[HttpRequest], bool]:
    """A permission callback: the signed-in person holds ``app_label.codename``."""

    def check(request: HttpRequest) -> bool:
        return bool(request.user.has_perm(name))

    return check


def superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_superuser)


def _url(name: str, query: str = "") -> Any:
    """Resolved on first use (the URLconf is not loaded while settings are)."""
    return lazy(lambda: f"{reverse_lazy(name)}{query}", str)()


def _item(title: Any, icon: str, link: Any, permission: Callable[[HttpRequest], bool]) -> dict[str, Any]:
    return {"title": title, "icon": icon, "link": link, "permission": permission}


def _changelist(app_model: str, title: Any, icon: str, query: str = "") -> dict[str, Any]:
    app_label, model = app_model.split(".")
    name = f"admin:{app_label}_{model}_changelist"
    return _item(title, icon, _url(name, query), perm(f"{app_label}.view_{model}"))


def _post_list(title: Any, icon: str, status: str = "") -> dict[str, Any]:
    """One view of the post list; active only on its own status (they share one path)."""

    def active(request: HttpRequest) -> bool:
        on_list = request.path == str(reverse_lazy("admin:posting_post_changelist"))
        return on_list and request.GET.get("status", "") in ({status} if status else {"", "queue"})

    item = _changelist("posting.post", title, icon, f"?status={status}" if status else "")
    return {**item, "active": active}


def _review() -> dict[str, Any]:
    return {
        "title": _("Review"),
        "items": [
            _post_list(_("Review queue"), "rule"),
            _post_list(_("Sent back for changes"), "undo", "changes_requested"),
            _post_list(_("Scheduled"), "schedule", "scheduled"),
            _item(
                _("Publications needing action"),
                "campaign",
                _url("admin:posting_publication_overview"),
                perm("posting.view_publication"),
            ),
            _post_list(_("All posts"), "article", "all"),
            _changelist("posting.publication", _("Publications"), "outbox"),
            _changelist("posting.auditevent", _("Audit trail"), "history"),
        ],
    }


def _generation() -> dict[str, Any]:
    return {
        "title": _("Generation"),
        "items": [
            _changelist("posting.generationbatch", _("Batches"), "stacks"),
            _item(
                _("Trigger workbench"),
                "science",
                _url("admin:scheduling_schedule_workbench"),
                perm("scheduling.view_schedule"),
            ),
            _changelist("scheduling.schedulerun", _("Schedule runs"), "event_repeat"),
        ],
    }


def _kols() -> dict[str, Any]:
    return {
        "title": _("KOL"),
        "items": [
            _changelist("kols.kol", _("KOLs"), "person"),
            _changelist("kols.platformaccount", _("Platform accounts"), "key"),
            # Playbooks (issue 13, kols.Playbook) go here.
        ],
    }


def _analytics() -> dict[str, Any]:
    return {
        "title": _("Analytics"),
        "items": [
            # The analytics dashboards (issue 13) go here, before the raw snapshots.
            _changelist("analytics.interactionsnapshot", _("Interaction snapshots"), "monitoring"),
        ],
    }


def _market() -> dict[str, Any]:
    return {
        "title": _("Market data"),
        "items": [
            _changelist("market.stock", _("Stocks"), "finance"),
            _changelist("market.dailyquote", _("Daily quotes"), "candlestick_chart"),
            _changelist("market.tradingdayoverride", _("Trading day overrides"), "event_busy"),
            _changelist("market.newsitem", _("News items"), "newspaper"),
            _changelist("market.newsfeed", _("News feeds"), "rss_feed"),
        ],
    }


def _settings() -> dict[str, Any]:
    return {
        "title": _("Settings"),
        "items": [
            _changelist("scheduling.schedule", _("Schedules"), "calendar_month"),
            _changelist("kols.prompttemplate", _("Prompt templates"), "edit_note"),
            _changelist("posting.compliancerule", _("Compliance rules"), "gavel"),
            # The score formula (issue 12, ScoreFormula) goes here.
            _changelist("auth.user", _("Users"), "group"),
            _changelist("auth.group", _("Roles"), "badge"),
            _changelist("kols.apitoken", _("API tokens"), "token"),
        ],
    }


def _beat() -> dict[str, Any]:
    def beat(model: str, title: Any, icon: str) -> dict[str, Any]:
        return _item(title, icon, _url(f"admin:django_celery_beat_{model}_changelist"), superuser)

    return {
        "title": _("Beat internals (superusers)"),
        "separator": True,
        "collapsible": True,
        "items": [
            beat("periodictask", _("Periodic tasks"), "timer"),
            beat("intervalschedule", _("Intervals"), "timelapse"),
            beat("crontabschedule", _("Crontabs"), "more_time"),
            beat("clockedschedule", _("Clocked"), "alarm"),
            beat("solarschedule", _("Solar events"), "wb_sunny"),
        ],
    }


def sidebar_navigation() -> list[dict[str, Any]]:
    return [_review(), _generation(), _kols(), _analytics(), _market(), _settings(), _beat()]
