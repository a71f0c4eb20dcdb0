from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def cell(value: object) -> str:
    """Numbers as people read them: thousands separated, at most two decimals; a dash for none."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)
