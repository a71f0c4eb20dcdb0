"""django-filter range filters bounded to dates the database and Python can hold.

PostgreSQL refuses a time zone offset beyond ±15:59 and Python overflows near years 1 and 9999, both as
500s; these filters answer 400 naming the field instead, and query in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.utils.translation import gettext as _
from django_filters.fields import DateRangeField, IsoDateTimeRangeField

from config.api.validators import EARLIEST_DATE, LATEST_DATE


def _bounded(value: dt.date | None) -> None:
    if (
        value is not None
        and not EARLIEST_DATE <= (value.date() if isinstance(value, dt.datetime) else value) <= LATEST_DATE
    ):
        raise forms.ValidationError(
            _("Give a date between %(first)s and %(last)s.") % {"first": EARLIEST_DATE, "last": LATEST_DATE}
        )


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is not None and abs(offset) >= dt.timedelta(hours=24):
        raise forms.ValidationError(_("The time zone offset must be within ±24 hours."))
    return value.astimezone(dt.UTC) if offset is not None else value


class _BoundedIsoDateTimeRangeField(IsoDateTimeRangeField):
    def clean(self, value: Any) -> Any:
        result = super().clean(value)
        if result is None:
            return None
        _bounded(result.start)
        _bounded(result.stop)
        return slice(_utc(result.start), _utc(result.stop))


class _BoundedDateRangeField(DateRangeField):
    def clean(self, value: Any) -> Any:
        for part in value or []:
            if part:
                _bounded(forms.DateField().clean(part))
        return super().clean(value)


class IsoDateTimeFromToRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    field_class = _BoundedIsoDateTimeRangeField


class DateFromToRangeFilter(django_filters.DateFromToRangeFilter):
    field_class = _BoundedDateRangeField
