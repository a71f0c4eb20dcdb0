"""Form fields for lists people type: one item per line, or times of day. No JSON in any form.

A list is typed one item per line (commas also separate); times are HH:MM. Bad input is a form error
in the person's language, and what they typed stays in the box.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from unfold.widgets import UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_SEPARATORS = re.compile(r"[,，、\n]")


class LinesField(forms.CharField):
    """A list of short texts, typed one per line (or separated by commas)."""

    def __init__(self, *, rows: int = 3, **kwargs: Any) -> None:
        kwargs.setdefault("widget", UnfoldAdminTextareaWidget(attrs={"rows": rows}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(str(item) for item in value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return [str(item).strip() for item in value if str(item).strip()]
        text = super().to_python(value) or ""
        return [item.strip() for item in _SEPARATORS.split(text) if item.strip()]


class TimesField(LinesField):
    """Times of day (Asia/Taipei) as "HH:MM", separated by commas or lines; "8:30" reads as "08:30"."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", UnfoldAdminTextInputWidget(attrs={"placeholder": "08:30, 13:45"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(str(item) for item in value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        times = []
        for item in super().to_python(value):
            match = _TIME.match(item)
            if match is None:
                raise ValidationError(
                    _("“%(value)s” is not a time of day: write HH:MM, for example 08:30.") % {"value": item},
                    code="invalid_time",
                )
            times.append(f"{int(match.group(1)):02d}:{match.group(2)}")
        if len(set(times)) != len(times):
            raise ValidationError(_("A time appears twice."), code="repeated_time")
        return sorted(times)
