"""Recorded data (a JSON field) shown to editors as a table of labelled values, never as raw JSON.

For what the project stores as it came (a platform's request, a feed entry, reaction counts): each key is
a row; nested objects become nested tables, lists are joined, numbers are formatted, yes/no in words, and
times are shown in Asia/Taipei without microseconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

TAIPEI = ZoneInfo("Asia/Taipei")
# A feed entry may be long; a page of rows is enough to read it.
MAX_ROWS = 50


def _time(text: str) -> str | None:
    if len(text) < 16 or text[4:5] != "-":
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")


def data_value(value: Any) -> SafeString | str:
    """One value in words: a nested table, a joined list, a formatted number, 是/否, or the text."""
    if isinstance(value, Mapping):
        return data_table(value)
    if isinstance(value, list | tuple):
        if any(isinstance(item, Mapping | list | tuple) for item in value):
            return format_html_join("", "<div>{}</div>", ((data_value(item),) for item in value))
        return "、".join(str(data_value(item)) for item in value) or "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return f"{value:,}"
    if value is None or value == "":
        return "—"
    return _time(str(value)) or str(value)


def data_table(value: Any) -> SafeString | str:
    """A mapping as a two-column table (key, value); anything else as its value in words."""
    if not isinstance(value, Mapping):
        return data_value(value)
    if not value:
        return "—"
    items = list(value.items())
    rows = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td></tr>",
        ((str(key), data_value(item)) for key, item in items[:MAX_ROWS]),
    )
    more = len(items) - MAX_ROWS
    tail = format_html('<tr><td colspan="2">{}</td></tr>', _("… and %(count)d more.") % {"count": more})
    return format_html('<table class="kol-table">{}{}</table>', rows, tail if more > 0 else "")
