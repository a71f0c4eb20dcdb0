"""Template filters that show trigger and allocation codes in words (scheduling/reason_labels.py)."""

from __future__ import annotations

from django import template

from scheduling.reason_labels import code_label

register = template.Library()


@register.filter
def reason_code(value: str) -> str:
    return code_label(value)
