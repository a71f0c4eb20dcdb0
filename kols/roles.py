"""The three roles, as Django groups with their permissions. Idempotent: run after every migrate.

Permissions are named by string, so this module imports nothing from the apps above ``kols``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext, gettext_noop

# Group names stay in English in the database (code looks groups up by name); people read them
# translated: see role_label() and KolsConfig.ready().
WRITER = gettext_noop("Writer")
REVIEWER = gettext_noop("Reviewer")
ADMINISTRATOR = gettext_noop("Administrator")
ROLE_NAMES = (WRITER, REVIEWER, ADMINISTRATOR)


def role_label(name: str) -> str:
    """A group's name as people read it: the roles translated, any other group as named."""
    return str(gettext(name)) if name in ROLE_NAMES else name


_READ = [
    "kols.view_kol",
    "market.view_stock",
    "market.view_dailyquote",
    "market.view_tradingdayoverride",
    "market.view_newsfeed",
    "market.view_newsitem",
    "posting.view_post",
    "posting.view_generationbatch",
    "posting.view_auditevent",
    "posting.view_publication",
    "posting.view_stanceentry",
    "scheduling.view_schedule",
    "scheduling.view_schedulerun",
    "analytics.view_interactionsnapshot",
    "analytics.view_kolsnapshot",
    "analytics.view_scoreformula",
    "analytics.view_analysisresult",
    "kols.view_playbook",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    WRITER: [*_READ, "posting.add_post", "posting.change_post", "posting.add_generationbatch"],
    REVIEWER: [*_READ, "posting.change_post", "posting.review_post", "posting.add_generationbatch"],
}

# Administrators get every permission of these apps, including ones later migrations add.
ADMINISTRATOR_APPS = [
    "kols",
    "market",
    "posting",
    "scheduling",
    "analytics",
    "django_celery_beat",
]


def _permissions(names: list[str]) -> list[Permission]:
    query = Q()
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


def ensure_roles() -> dict[str, int]:
    """Create or update the role groups; returns the permission count of each."""
    counts: dict[str, int] = {}
    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = _permissions(names)
        group.permissions.set(permissions)
        counts[role] = len(permissions)
    admin_group, _created = Group.objects.get_or_create(name=ADMINISTRATOR)
    admin_permissions = list(Permission.objects.filter(content_type__app_label__in=ADMINISTRATOR_APPS))
    admin_group.permissions.set(admin_permissions)
    counts[ADMINISTRATOR] = len(admin_permissions)
    return counts


def ensure_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    # post_migrate fires once per app; running for each is cheap and catches permissions created late.
    if kwargs.get("using", "default") == "default":
        ensure_roles()
