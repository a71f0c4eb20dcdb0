"""Safe HTML for the review page: the text with findings highlighted, and the platform preview.

Everything that comes from a draft is escaped before any markup is added; nothing from a draft is ever
marked safe as it is, so HTML or script in a post can never run in the admin.
"""

from __future__ import annotations

from typing import Any

from django.template.defaultfilters import linebreaksbr
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

SEVERITY_CLASS = {"block": "kol-finding-block", "warn": "kol-finding-warn"}


def _spans(text: str, findings: list[dict[str, Any]], field: str) -> list[tuple[int, int, dict[str, Any]]]:
    """Non-overlapping (start, end, finding) spans for ``field``: offsets when given, else the excerpt."""
    spans = []
    for finding in findings:
        where = finding.get("field", "body")
        if where != field:
            continue
        start, end = finding.get("start"), finding.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            excerpt = str(finding.get("excerpt") or "")
            start = text.find(excerpt) if excerpt else -1
            if start < 0:
                continue
            end = start + len(excerpt)
        spans.append((start, end, finding))
    spans.sort(key=lambda span: (span[0], -span[1]))
    kept: list[tuple[int, int, dict[str, Any]]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def highlight(text: str, findings: list[dict[str, Any]], *, field: str = "body") -> SafeString:
    parts: list[str] = []
    cursor = 0
    for start, end, finding in _spans(text, findings, field):
        parts.append(escape(text[cursor:start]))
        css = SEVERITY_CLASS.get(str(finding.get("severity")), "kol-finding-warn")
        tip = f"{finding.get('code', '')}: {finding.get('message', '')}"
        parts.append(format_html('<mark class="{}" title="{}">{}</mark>', css, tip, text[start:end]))
        cursor = end
    parts.append(escape(text[cursor:]))
    return linebreaksbr(mark_safe("".join(parts)))  # noqa: S308 - built from escaped pieces only


def platform_preview(*, title: str, body: str, tags: list[dict[str, Any]]) -> dict[str, Any]:
    """What the forum will show: plain text (the platform renders no HTML), line breaks kept, tags."""
    return {
        "title": title,
        "body_html": linebreaksbr(escape(body)),
        "tags": [
            f"${tag.get('key')}" if tag.get("type") == "Stock" else str(tag.get("key")) for tag in tags or []
        ],
    }
