"""How raw codes stored on posts read in the interface: audit actions, statuses, system actors, triggers.

The audit trail stores codes (``mark_published``, ``pending_review``, ``batch:12``) so that it can be
queried; people read them through these functions, in their language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from posting.lifecycle.table import TRANSITIONS
from posting.models import ComplianceRule, Post

# Trigger types are defined above posting (scheduling/trigger_types.py); scheduling fills this in
# its AppConfig.ready(), so the post list and page can show a trigger's name without importing it.
TRIGGER_LABELS: dict[str, Any] = {}

_OTHER_ACTIONS = {"create": gettext_lazy("Created"), "edit": gettext_lazy("Text edited")}
_SYSTEM_ACTORS = {
    "generator": gettext_lazy("the generator"),
    "publisher": gettext_lazy("the publisher"),
    "stale-drafts": gettext_lazy("the stale-draft check"),
    "示範": gettext_lazy("the demo"),
}
_NUMBERED_ACTORS = {"batch": gettext_lazy("batch %(id)s"), "schedule": gettext_lazy("schedule %(id)s")}


def audit_action_label(action: str) -> str:
    transition = TRANSITIONS.get(action)
    if transition is not None:
        return str(transition.label)
    return str(_OTHER_ACTIONS.get(action, action))


def post_status_label(status: str) -> str:
    return str(Post.Status(status).label) if status in Post.Status.values else status


def system_actor_label(label: str) -> str:
    if label in _SYSTEM_ACTORS:
        return str(_SYSTEM_ACTORS[label])
    kind, _sep, number = label.partition(":")
    if kind in _NUMBERED_ACTORS and number:
        return str(_NUMBERED_ACTORS[kind]) % {"id": number}
    return label


def trigger_label(trigger_type: str) -> str:
    if not trigger_type:
        return _("(none)")
    return str(TRIGGER_LABELS.get(trigger_type, trigger_type))


def severity_label(severity: str) -> str:
    choices = dict(ComplianceRule.Severity.choices)
    return str(choices.get(severity, severity))
