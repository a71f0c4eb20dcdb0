"""What text a person may put into a post, a note or a reason: within the length limits (settings), and
without characters that hide or reorder what a reader sees: bidi overrides and isolates (U+202A–U+202E,
U+2066–U+2069), C0/C1 control characters other than tab and newline, noncharacters and unpaired
surrogates. Refused, never silently stripped, with the character named, so the person sees what was wrong.
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext as _

from config.exceptions import ServiceError

_ALLOWED_CONTROLS = {"\t", "\n"}
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def _is_forbidden(char: str) -> bool:
    code = ord(char)
    if char in _ALLOWED_CONTROLS:
        return False
    if code < 0x20 or 0x7F <= code <= 0x9F or char in _BIDI or 0xD800 <= code <= 0xDFFF:
        return True
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _describe(char: str) -> str:
    name = unicodedata.name(char, "") or _("control or noncharacter")
    return f"U+{ord(char):04X} ({name})"


def text_problem(value: str) -> str:
    """A sentence naming the forbidden characters in ``value``; empty when there are none."""
    found: list[str] = []
    for char in value:
        if _is_forbidden(char) and char not in found:
            found.append(char)
    if not found:
        return ""
    return _("Remove the invisible or control characters: %(chars)s.") % {
        "chars": ", ".join(_describe(char) for char in found[:5])
    }


def text_clean(*, field: str, value: str, limit: int, required: bool = True) -> str:
    """``value`` with \\r\\n made \\n and the ends trimmed; ServiceError naming ``field`` when it breaks a rule."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    problem = ""
    if required and not value:
        problem = _("This field is required.")
    elif len(value) > limit:
        problem = _("At most %(limit)d characters (this has %(count)d).") % {
            "limit": limit,
            "count": len(value),
        }
    else:
        problem = text_problem(value)
    if problem:
        raise ServiceError(problem, code="invalid", fields={field: [problem]})
    return value
