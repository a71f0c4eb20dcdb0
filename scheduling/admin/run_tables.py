"""A schedule run's recorded outcome as tables people read: stocks by code and name, reasons in words.

The run keeps its candidates, exclusions, assignments and auto-approve outcome as data (JSON) so runs can
be compared; the run page shows them through these functions, never as raw dicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from scheduling.admin.display import local_time
from scheduling.reason_labels import code_label, reason_text, reasons_text


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str) -> SafeString:
    body = list(rows)
    if not body:
        return format_html('<span class="kol-muted">{}</span>', empty)
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    lines = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in body)
    )
    return format_html(
        '<table class="kol-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, lines
    )


def _subject(candidate: Mapping[str, Any] | None, key: str = "") -> str:
    """A candidate as people name it: 「2330 台積電」, or its topic."""
    if not candidate:
        return key.split(":", 1)[-1] if key else "—"
    stock = candidate.get("stock")
    if stock:
        return f"{stock.get('code', '')} {stock.get('name', '')}".strip()
    return str(candidate.get("topic") or key or "—")


def _score(value: Any) -> str:
    return number_format(value, 2, use_l10n=True) if isinstance(value, int | float) else "—"


def _blocked(entries: Sequence[Mapping[str, Any]]) -> str:
    return "；".join(f"{entry.get('kol', '')}：{reason_text(entry)}" for entry in entries)


def candidates_table(candidates: Sequence[Mapping[str, Any]]) -> SafeString:
    rows = [
        (
            item.get("rank", ""),
            _subject(item, str(item.get("key", ""))),
            _score(item.get("score")),
            item.get("summary", ""),
            reasons_text(item.get("reasons") or []),
        )
        for item in candidates or []
    ]
    headers = ["#", _("Stock or topic"), _("Score"), _("Why"), _("The numbers")]
    return _table(headers, rows, _("The trigger picked nothing."))


def excluded_table(counts: Mapping[str, int]) -> SafeString:
    rows = [(code_label(code), number_format(count)) for code, count in sorted((counts or {}).items())]
    return _table([_("Reason"), _("Stocks")], rows, _("None left out."))


def assignments_table(
    assignments: Sequence[Mapping[str, Any]], candidates: Sequence[Mapping[str, Any]]
) -> SafeString:
    by_key = {str(item.get("key")): item for item in candidates or []}
    rows = [
        (
            item.get("rank", ""),
            _subject(by_key.get(str(item.get("candidate"))), str(item.get("candidate", ""))),
            (item.get("kol") or {}).get("nickname", "—"),
            reasons_text(item.get("reasons") or []),
        )
        for item in assignments or []
    ]
    return _table(["#", _("Stock or topic"), _("KOL"), _("Why this KOL")], rows, _("No KOL was assigned."))


def skipped_table(
    skipped: Sequence[Mapping[str, Any]], candidates: Sequence[Mapping[str, Any]]
) -> SafeString:
    by_key = {str(item.get("key")): item for item in candidates or []}
    rows = [
        (
            item.get("rank", ""),
            _subject(by_key.get(str(item.get("candidate"))), str(item.get("candidate", ""))),
            item.get("message") or code_label(str(item.get("code", ""))),
            _blocked(item.get("blocked") or []),
        )
        for item in skipped or []
    ]
    return _table(
        ["#", _("Stock or topic"), _("Why"), _("Each KOL")], rows, _("Every candidate was assigned.")
    )


def _post_link(post_id: Any) -> SafeString:
    url = reverse("admin:posting_post_change", args=[post_id])
    return format_html('<a href="{}">#{}</a>', url, str(post_id)[:8])


def _when(value: Any) -> str:
    if not value:
        return "—"
    try:
        return local_time(dt.datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _without_post(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != "post"}


def review_table(review: Mapping[str, Any]) -> SafeString:
    review = review or {}
    rows = [
        (_post_link(item["post"]), _("Approved"), _when(item.get("scheduled_at")))
        for item in review.get("approved", [])
    ]
    rows += [
        (
            _post_link(item["post"]),
            _("Kept for review: %(why)s") % {"why": reason_text(_without_post(item))},
            "—",
        )
        for item in review.get("kept", [])
    ]
    headers = [_("Post"), _("Outcome"), _("Publishes at (Asia/Taipei)")]
    return _table(headers, rows, _("Auto-approve did not run."))
