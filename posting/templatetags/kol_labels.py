"""Template filters that show stored codes in words (posting/labels.py)."""

from __future__ import annotations

from django import template

from posting import labels

register = template.Library()


@register.filter
def audit_action(value: str) -> str:
    return labels.audit_action_label(value)


@register.filter
def post_status(value: str) -> str:
    return labels.post_status_label(value) if value else ""


@register.filter
def actor(event: object) -> str:
    """``event.who`` with system actors (``batch:12``, ``publisher``) in words."""
    user = getattr(event, "actor", None)
    return (
        user.get_username()
        if user is not None
        else labels.system_actor_label(getattr(event, "actor_label", ""))
    )


@register.filter
def trigger(value: str) -> str:
    return labels.trigger_label(value)


@register.filter
def severity(value: str) -> str:
    """A finding's severity (``block``/``warn``) as the compliance rules name it."""
    return labels.severity_label(value)
